//! Purchase timing: the chance of at least one purchase in the next τ, the chance of still
//! being alive at T + τ, and the median time to the next purchase, for every transaction
//! model.
//!
//! All of them condition on the history (x, tₓ, T) and split into P(alive at T) times a term
//! for a customer known to be alive at T, whose rates then have the posterior
//!
//! | model      | purchase rate          | dropout                         |
//! |------------|------------------------|---------------------------------|
//! | BG/NBD     | λ ~ Gamma(r+x, α+T)    | p ~ Beta(a, b+x) per purchase   |
//! | MBG/NBD    | λ ~ Gamma(r+x, α+T)    | p ~ Beta(a, b+x+1) per purchase |
//! | Pareto/NBD | λ ~ Gamma(r+x, α+T)    | μ ~ Gamma(s, β+T), exponential  |
//! | BG/BB      | p ~ Beta(α+x, β+n−x)   | θ ~ Beta(γ, δ+n) per opportunity |
//!
//! (the likelihood of a customer alive at T is λˣe^(−λT) times (1−p)ˣ, (1−p)^(x+1),
//! e^(−μT) or pˣ(1−p)^(n−x)(1−θ)ⁿ). With A = α+T, B = β+T and k = r+x:
//!
//! - **BG/NBD, MBG/NBD** (closed form). A live customer can only drop out right after a
//!   purchase, so no purchase in τ means staying alive: P(purchase in τ) =
//!   P(alive)·[1 − (A/(A+τ))^k]; the median solves that for τ. Alive at T+τ given λ, p has
//!   chance e^(−λpτ) (each of the Poisson(λτ) purchases ends the life with chance p), so
//!   P(alive at T+τ) = P(alive)·E_p[(A/(A+pτ))^k] = P(alive)·(A/(A+τ))^k·₂F₁(k, b'; a+b'; τ/(A+τ))
//!   with b' = b+x (BG/NBD) or b+x+1 (MBG/NBD); for τ/(A+τ) > 0.9 the expectation is a
//!   tanh-sinh quadrature over p instead of the slowly converging series.
//! - **Pareto/NBD** (numeric). The first purchase comes before the dropout and within τ with
//!   chance ∫₀^τ E[λe^(−λu)]·E[e^(−μu)] du = ∫₀^τ (k/A)(A/(A+u))^(k+1)(B/(B+u))^s du. With
//!   u = A(e^(v/k) − 1) that is ∫₀^V e^(−v)(1 + (A/B)(e^(v/k) − 1))^(−s) dv, V = k·ln(1+τ/A),
//!   a bounded, decreasing integrand under e^(−v), integrated by adaptive Gauss–Kronrod
//!   (7/15 points) to about 1e-14 (cut at v = 50, where e^(−v) < 2e-22). The limit τ → ∞ is
//!   P(alive)·E[λ/(λ+μ)]. The median is Newton's method on V (the integrand is the
//!   derivative). P(alive at T+τ) = P(alive)·(B/(B+τ))^s (closed form).
//! - **BG/BB** (finite sums, whole opportunities m): the first purchase is at opportunity j
//!   when the customer survives j beginnings and buys at the j-th after j−1 misses, so
//!   P(purchase in m) = P(alive)·Σ_{j≤m} E[(1−θ)^j]·E[p(1−p)^(j−1)], each term a ratio of Beta
//!   functions taken from the previous one (O(m), stopping early once the rest is below
//!   1e-17 of the sum). P(alive at n+m) is [`BgBb::p_alive_at`].
//!
//! P(no purchase) = 1 − P(purchase) = (1 − P(alive)) + P(alive)·(1 − the alive term). The
//! [`Model`] methods check their arguments and return [`ClvError::InvalidArgument`] for a
//! bad τ or `max`; the per-model methods assume them checked.

use std::f64::consts::PI;

use crate::bgbb::BgBb;
use crate::bgnbd::BgNbd;
use crate::data::CalibrationData;
use crate::error::{ClvError, Result, non_negative_arg};
use crate::hyp2f1::ln_hyp2f1;
use crate::mbgnbd::MbgNbd;
use crate::model::{Model, par_map};
use crate::pareto_nbd::ParetoNbd;
use crate::special::{ln_beta, softplus};

/// The probability that reaches it is the median next-purchase time.
const MEDIAN: f64 = 0.5;

/// Largest τ/(A+τ) at which the BG/NBD survival is summed as a ₂F₁ series (at most a few
/// hundred terms); beyond it, quadrature.
const SURVIVAL_SERIES_MAX: f64 = 0.9;

/// Where the Pareto/NBD integral in v is cut: the integrand is below e^(−v).
const V_CUT: f64 = 50.0;

// ---------------------------------------------------------------------------------------
// BG/NBD and MBG/NBD
// ---------------------------------------------------------------------------------------

/// 1 − (A/(A+τ))^k: the chance that a customer with rate λ ~ Gamma(k, A) buys within τ
/// (for BG/NBD-type models this is also the chance for a live one: dropout needs a purchase).
fn nbd_purchase(k: f64, a_t: f64, tau: f64) -> f64 {
    if tau <= 0.0 {
        return 0.0;
    }
    -(-k * (tau / a_t).ln_1p()).exp_m1()
}

/// τ at which P(alive)·[1 − (A/(A+τ))^k] = 1/2, if it is at most `max`.
fn nbd_median(p_alive: f64, k: f64, a_t: f64, max: f64) -> Option<f64> {
    if p_alive.is_nan() || p_alive <= MEDIAN {
        return None;
    }
    let tau = a_t * (-(-MEDIAN / p_alive).ln_1p() / k).exp_m1();
    (tau.is_finite() && tau > 0.0 && tau <= max).then_some(tau)
}

/// E[(A/(A+pτ))^k] for p ~ Beta(a, b1): the chance that a live BG/NBD-type customer with
/// λ ~ Gamma(k, A) and dropout chance p ~ Beta(a, b1) per purchase is still alive after τ.
fn bg_survival(k: f64, a_t: f64, a: f64, b1: f64, tau: f64) -> f64 {
    if tau <= 0.0 {
        return 1.0;
    }
    if tau == f64::INFINITY {
        return 0.0;
    }
    let w = tau / (a_t + tau);
    let ln_1mw = -(tau / a_t).ln_1p();
    if w <= SURVIVAL_SERIES_MAX {
        let v = k * ln_1mw + ln_hyp2f1(k, b1, a + b1, w);
        if v.is_finite() {
            return v.exp().min(1.0);
        }
    }
    // ln(1 + pτ/A), exact for small p as ln1p and for p near 1 through ln p.
    let c = tau / a_t;
    ln_beta_expectation(a, b1, |p| -k * (p * c).ln_1p())
        .exp()
        .min(1.0)
}

macro_rules! bg_type {
    ($ty:ident, $name:literal, $b_shift:expr) => {
        impl $ty {
            /// P(no purchase in (T, T+τ] | x, tₓ, T) (closed form, see [`crate::purchase`]);
            /// τ ≥ 0 (checked by [`Model::p_no_purchase`]).
            pub fn p_no_purchase(&self, tau: f64, x: f64, tx: f64, t: f64) -> f64 {
                1.0 - self.p_purchase(tau, x, tx, t)
            }

            #[doc = concat!("P(at least one purchase in (T, T+τ] | x, tₓ, T) for the ", $name, ":")]
            /// P(alive)·[1 − ((α+T)/(α+T+τ))^(r+x)]; τ ≥ 0.
            pub fn p_purchase(&self, tau: f64, x: f64, tx: f64, t: f64) -> f64 {
                let [r, alpha, _, _] = self.params();
                (self.p_alive(x, tx, t) * nbd_purchase(r + x, alpha + t, tau)).clamp(0.0, 1.0)
            }

            /// P(alive at T+τ | x, tₓ, T), not conditioning on purchases after T:
            /// P(alive)·E_p[((α+T)/(α+T+pτ))^(r+x)] over the posterior of the dropout chance
            /// p of a live customer; τ ≥ 0.
            pub fn p_alive_at(&self, tau: f64, x: f64, tx: f64, t: f64) -> f64 {
                self.p_alive(x, tx, t) * self.survival_if_alive(tau, x, t)
            }

            /// E_p[((α+T)/(α+T+pτ))^(r+x)]: P(alive at T+τ | alive at T), a function of (x, T).
            pub(crate) fn survival_if_alive(&self, tau: f64, x: f64, t: f64) -> f64 {
                let [r, alpha, a, b] = self.params();
                bg_survival(r + x, alpha + t, a, b + x + $b_shift, tau)
            }

            /// The τ in (0, max] at which P(purchase in τ) reaches 1/2 (closed form), None if
            /// it does not by `max` (always when P(alive) ≤ 1/2, the limit τ → ∞).
            pub fn next_purchase_time(&self, x: f64, tx: f64, t: f64, max: f64) -> Option<f64> {
                let [r, alpha, _, _] = self.params();
                nbd_median(self.p_alive(x, tx, t), r + x, alpha + t, max)
            }
        }
    };
}

bg_type!(BgNbd, "BG/NBD", 0.0);
bg_type!(MbgNbd, "MBG/NBD", 1.0);

// ---------------------------------------------------------------------------------------
// Pareto/NBD
// ---------------------------------------------------------------------------------------

/// The Pareto/NBD purchase integrand in v (see the module docs) for a live customer with
/// k = r+x, c = A/B and dropout shape s: e^(−v)·(1 + c(e^(v/k) − 1))^(−s).
#[derive(Debug, Clone, Copy)]
struct ParetoIntegrand {
    k: f64,
    c: f64,
    s: f64,
}

impl ParetoIntegrand {
    fn new(m: &ParetoNbd, x: f64, t: f64) -> Self {
        let [r, alpha, s, beta] = m.params();
        let c = (alpha + t) / (beta + t);
        ParetoIntegrand { k: r + x, c, s }
    }

    fn eval(&self, v: f64) -> f64 {
        let y = v / self.k;
        // ln(1 + c(e^y − 1)): as ln1p for small y, else y + ln(c(1 − e^−y) + e^−y), which
        // neither overflows nor loses a small c.
        let l = if y <= 1.0 {
            (self.c * y.exp_m1()).ln_1p()
        } else {
            let e = (-y).exp();
            y + (self.c * -(-y).exp_m1() + e).ln()
        };
        (-v - self.s * l).exp()
    }

    /// ∫ from v0 to v1 (0 ≤ v0 ≤ v1).
    fn integral(&self, v0: f64, v1: f64) -> f64 {
        let (v0, v1) = (v0.min(V_CUT), v1.min(V_CUT));
        if v1 <= v0 {
            return 0.0;
        }
        gauss_kronrod(|v| self.eval(v), v0, v1)
    }

    /// The upper end V = k·ln(1 + τ/A) for a horizon τ.
    fn upper(&self, tau: f64, a_t: f64) -> f64 {
        self.k * (tau / a_t).ln_1p()
    }
}

impl ParetoNbd {
    /// P(no purchase in (T, T+τ] | x, tₓ, T): 1 − [`Self::p_purchase`]; τ ≥ 0.
    pub fn p_no_purchase(&self, tau: f64, x: f64, tx: f64, t: f64) -> f64 {
        1.0 - self.p_purchase(tau, x, tx, t)
    }

    /// P(at least one purchase in (T, T+τ] | x, tₓ, T): P(alive) times the chance that a
    /// live customer's first purchase comes before both the dropout and τ (numeric integral,
    /// see [`crate::purchase`]); τ ≥ 0, +∞ gives the limit P(alive)·E[λ/(λ+μ)].
    pub fn p_purchase(&self, tau: f64, x: f64, tx: f64, t: f64) -> f64 {
        (self.p_alive(x, tx, t) * self.purchase_if_alive(tau, x, t)).clamp(0.0, 1.0)
    }

    /// P(first purchase within τ | alive at T, x, T).
    pub(crate) fn purchase_if_alive(&self, tau: f64, x: f64, t: f64) -> f64 {
        if tau <= 0.0 {
            return 0.0;
        }
        let f = ParetoIntegrand::new(self, x, t);
        f.integral(0.0, f.upper(tau, self.params()[1] + t)).min(1.0)
    }

    /// P(alive at T+τ | x, tₓ, T) = P(alive)·((β+T)/(β+T+τ))^s (closed form); τ ≥ 0.
    pub fn p_alive_at(&self, tau: f64, x: f64, tx: f64, t: f64) -> f64 {
        self.p_alive(x, tx, t) * self.survival_if_alive(tau, t)
    }

    /// ((β+T)/(β+T+τ))^s.
    fn survival_if_alive(&self, tau: f64, t: f64) -> f64 {
        let [_, _, s, beta] = self.params();
        if tau <= 0.0 {
            return 1.0;
        }
        (-s * (tau / (beta + t)).ln_1p()).exp()
    }

    /// The τ in (0, max] at which P(purchase in τ) reaches 1/2 (Newton's method on the
    /// integral's upper end, to about 1e-13 relative), None if it does not by `max`, and
    /// without iterating when even the limit P(alive)·E[λ/(λ+μ)] is below 1/2.
    pub fn next_purchase_time(&self, x: f64, tx: f64, t: f64, max: f64) -> Option<f64> {
        self.median_from(self.p_alive(x, tx, t), x, t, max)
    }

    fn median_from(&self, p_alive: f64, x: f64, t: f64, max: f64) -> Option<f64> {
        if p_alive.is_nan() || p_alive <= MEDIAN {
            return None;
        }
        let f = ParetoIntegrand::new(self, x, t);
        let target = MEDIAN / p_alive;
        // F(v) = ∫₀^v f is increasing and concave (f decreases), so Newton's method from
        // v = 0 climbs to the root from below without overshooting.
        if f.integral(0.0, V_CUT) < target {
            return None;
        }
        let (mut v, mut area) = (0.0_f64, 0.0_f64);
        for _ in 0..200 {
            let step = (target - area) / f.eval(v);
            if !step.is_finite() || step <= 1e-15 * v.max(1e-300) {
                break;
            }
            let next = v + step;
            area += f.integral(v, next);
            v = next;
        }
        let a_t = self.params()[1] + t;
        let tau = a_t * (v / f.k).exp_m1();
        (tau.is_finite() && tau > 0.0 && tau <= max).then_some(tau)
    }
}

// ---------------------------------------------------------------------------------------
// BG/BB
// ---------------------------------------------------------------------------------------

/// Running terms of the BG/BB sum for a customer alive at n: opportunity j of the future.
struct BgBbSteps {
    /// α + x, β + n − x, γ, δ + n.
    post: [f64; 4],
    /// j, E[(1−θ)^j], E[(1−p)^j], Σ_{i≤j} E[(1−θ)^i] E[p(1−p)^(i−1)].
    j: f64,
    surv: f64,
    miss: f64,
    sum: f64,
}

impl BgBbSteps {
    fn new(m: &BgBb, x: f64, n: f64) -> Self {
        let [alpha, beta, gamma, delta] = m.params();
        BgBbSteps {
            post: [alpha + x, beta + n - x, gamma, delta + n],
            j: 0.0,
            surv: 1.0,
            miss: 1.0,
            sum: 0.0,
        }
    }

    /// Moves to opportunity j+1: adds the chance that the first purchase is there.
    fn step(&mut self) {
        let [a, b, g, d] = self.post;
        let j = self.j;
        // E[p(1−p)^j] = E[(1−p)^j]·a/(a+b+j); E[(1−θ)^(j+1)] = E[(1−θ)^j]·(d+j)/(g+d+j).
        let buy = self.miss * a / (a + b + j);
        self.surv *= (d + j) / (g + d + j);
        self.miss *= (b + j) / (a + b + j);
        self.sum += self.surv * buy;
        self.j = j + 1.0;
    }

    /// Upper bound of what later steps can still add: alive and without purchase so far.
    fn rest(&self) -> f64 {
        self.surv * self.miss
    }
}

impl BgBb {
    /// P(no purchase in opportunities n+1..=n+m | x, tₓ, n) (Fader, Hardie & Shang 2010:
    /// the posterior of (p, θ) of a live customer; see [`crate::purchase`]).
    pub fn p_no_purchase(&self, m: u32, x: f64, tx: f64, n: f64) -> f64 {
        1.0 - self.p_purchase(m, x, tx, n)
    }

    /// P(at least one purchase in opportunities n+1..=n+m | x, tₓ, n). O(m) steps at most.
    pub fn p_purchase(&self, m: u32, x: f64, tx: f64, n: f64) -> f64 {
        (self.p_alive(x, tx, n) * self.purchase_if_alive(m, x, n)).clamp(0.0, 1.0)
    }

    fn purchase_if_alive(&self, m: u32, x: f64, n: f64) -> f64 {
        let mut st = BgBbSteps::new(self, x, n);
        for _ in 0..m {
            st.step();
            if st.rest() <= 1e-17 * st.sum {
                break;
            }
        }
        st.sum.min(1.0)
    }

    /// The smallest whole number of opportunities m ≤ `max` after which P(purchase) ≥ 1/2,
    /// None if there is none (stops as soon as the sum plus what later opportunities can add
    /// stays below 1/2).
    pub fn next_purchase_time(&self, x: f64, tx: f64, n: f64, max: u32) -> Option<u32> {
        let p_alive = self.p_alive(x, tx, n);
        if p_alive.is_nan() || p_alive <= MEDIAN {
            return None;
        }
        let target = MEDIAN / p_alive;
        let mut st = BgBbSteps::new(self, x, n);
        for m in 1..=max {
            st.step();
            if st.sum >= target {
                return Some(m);
            }
            if st.sum + st.rest() < target {
                return None;
            }
        }
        None
    }
}

// ---------------------------------------------------------------------------------------
// Model: checked arguments and whole-table versions
// ---------------------------------------------------------------------------------------

/// Checks `max` of the next-purchase search: finite and > 0.
fn positive_max(max: f64) -> Result<f64> {
    if max.is_finite() && max > 0.0 {
        Ok(max)
    } else {
        Err(ClvError::InvalidArgument {
            name: "max",
            value: max,
            rule: "the longest wait searched must be finite and > 0",
        })
    }
}

/// A BG/BB horizon in whole opportunities (rounded, as [`Model::prob_purchases`] does).
fn opportunities(tau: f64) -> u32 {
    // τ is finite and ≥ 0 here; `as` saturates at u32::MAX.
    tau.round() as u32
}

impl Model {
    /// P(at least one purchase in (T, T+τ] | x, tₓ, T), τ in model time units (BG/BB: whole
    /// opportunities, τ rounded). Errors when τ is not finite and ≥ 0.
    pub fn p_purchase(&self, tau: f64, x: f64, tx: f64, t: f64) -> Result<f64> {
        let tau = non_negative_arg("tau", tau)?;
        Ok(self.p_purchase_checked(tau, x, tx, t))
    }

    /// P(no purchase in (T, T+τ] | x, tₓ, T) = 1 − [`Self::p_purchase`].
    pub fn p_no_purchase(&self, tau: f64, x: f64, tx: f64, t: f64) -> Result<f64> {
        Ok(1.0 - self.p_purchase(tau, x, tx, t)?)
    }

    fn p_purchase_checked(&self, tau: f64, x: f64, tx: f64, t: f64) -> f64 {
        match self {
            Model::BgNbd(m) => m.p_purchase(tau, x, tx, t),
            Model::MbgNbd(m) => m.p_purchase(tau, x, tx, t),
            Model::ParetoNbd(m) => m.p_purchase(tau, x, tx, t),
            Model::BgBb(m) => m.p_purchase(opportunities(tau), x, tx, t),
        }
    }

    /// P(alive at T+τ | x, tₓ, T), not conditioning on purchases after T (BG/BB: τ rounded
    /// to whole opportunities). Errors when τ is not finite and ≥ 0.
    pub fn p_alive_at(&self, tau: f64, x: f64, tx: f64, t: f64) -> Result<f64> {
        let tau = non_negative_arg("tau", tau)?;
        Ok(self.p_alive_at_checked(tau, x, tx, t))
    }

    fn p_alive_at_checked(&self, tau: f64, x: f64, tx: f64, t: f64) -> f64 {
        match self {
            Model::BgNbd(m) => m.p_alive_at(tau, x, tx, t),
            Model::MbgNbd(m) => m.p_alive_at(tau, x, tx, t),
            Model::ParetoNbd(m) => m.p_alive_at(tau, x, tx, t),
            Model::BgBb(m) => m.p_alive_at(f64::from(opportunities(tau)), x, tx, t),
        }
    }

    /// Median time to the next purchase: the τ in (0, max] at which P(purchase in τ)
    /// reaches 1/2, None if it does not by `max` (BG/BB: the smallest whole number of
    /// opportunities, `max` rounded). Errors when `max` is not finite and > 0.
    pub fn next_purchase_time(&self, x: f64, tx: f64, t: f64, max: f64) -> Result<Option<f64>> {
        let max = positive_max(max)?;
        Ok(self.next_purchase_checked(x, tx, t, max))
    }

    fn next_purchase_checked(&self, x: f64, tx: f64, t: f64, max: f64) -> Option<f64> {
        match self {
            Model::BgNbd(m) => m.next_purchase_time(x, tx, t, max),
            Model::MbgNbd(m) => m.next_purchase_time(x, tx, t, max),
            Model::ParetoNbd(m) => m.next_purchase_time(x, tx, t, max),
            Model::BgBb(m) => m
                .next_purchase_time(x, tx, t, opportunities(max))
                .map(f64::from),
        }
    }

    /// [`Self::p_purchase`] for every row of `data`, bit-identical to calling it on each row.
    /// BG/NBD and MBG/NBD cost a few logs per customer; the Pareto/NBD integral is evaluated
    /// once per distinct (x, T) and P(alive) once per distinct row; BG/BB once per distinct
    /// row.
    pub fn p_purchase_all(&self, tau: f64, data: &CalibrationData) -> Result<Vec<f64>> {
        let tau = non_negative_arg("tau", tau)?;
        let (x, tx, t) = (data.frequency(), data.recency(), data.age());
        Ok(match self {
            Model::BgNbd(_) | Model::MbgNbd(_) => par_map(data.len(), |i| {
                self.p_purchase_checked(tau, x[i], tx[i], t[i])
            }),
            Model::ParetoNbd(m) => {
                let v = data.unique_x_age();
                let q = par_map(v.len(), |j| m.purchase_if_alive(tau, v.x[j], v.t[j]));
                let pa = self.p_alive_all(data);
                par_map(data.len(), |i| {
                    (pa[i] * q[v.inverse[i] as usize]).clamp(0.0, 1.0)
                })
            }
            Model::BgBb(_) => data
                .unique_rows()
                .map(|x, tx, t| self.p_purchase_checked(tau, x, tx, t)),
        })
    }

    /// [`Self::p_alive_at`] for every row of `data`, bit-identical to calling it on each row
    /// (BG/NBD, MBG/NBD: the survival term once per distinct (x, T); Pareto/NBD and BG/BB:
    /// P(alive) once per distinct row).
    pub fn p_alive_at_all(&self, tau: f64, data: &CalibrationData) -> Result<Vec<f64>> {
        let tau = non_negative_arg("tau", tau)?;
        let (x, tx, t) = (data.frequency(), data.recency(), data.age());
        let survival = |f: &(dyn Fn(f64, f64) -> f64 + Sync)| {
            let v = data.unique_x_age();
            let s = par_map(v.len(), |j| f(v.x[j], v.t[j]));
            par_map(data.len(), |i| {
                self.p_alive(x[i], tx[i], t[i]) * s[v.inverse[i] as usize]
            })
        };
        Ok(match self {
            Model::BgNbd(m) => survival(&|x, t| m.survival_if_alive(tau, x, t)),
            Model::MbgNbd(m) => survival(&|x, t| m.survival_if_alive(tau, x, t)),
            Model::ParetoNbd(m) => {
                let pa = self.p_alive_all(data);
                par_map(data.len(), |i| pa[i] * m.survival_if_alive(tau, t[i]))
            }
            Model::BgBb(_) => data
                .unique_rows()
                .map(|x, tx, t| self.p_alive_at_checked(tau, x, tx, t)),
        })
    }

    /// [`Self::next_purchase_time`] for every row of `data`, equal to calling it on each row
    /// (BG/NBD, MBG/NBD: closed form per customer; others once per distinct row).
    pub fn next_purchase_time_all(
        &self,
        max: f64,
        data: &CalibrationData,
    ) -> Result<Vec<Option<f64>>> {
        let max = positive_max(max)?;
        let (x, tx, t) = (data.frequency(), data.recency(), data.age());
        Ok(match self {
            Model::BgNbd(_) | Model::MbgNbd(_) => par_map(data.len(), |i| {
                self.next_purchase_checked(x[i], tx[i], t[i], max)
            }),
            Model::ParetoNbd(_) | Model::BgBb(_) => {
                let u = data.unique_rows();
                let vals = par_map(u.len(), |j| {
                    self.next_purchase_checked(u.x[j], u.tx[j], u.t[j], max)
                });
                par_map(data.len(), |i| vals[u.inverse[i] as usize])
            }
        })
    }
}

// ---------------------------------------------------------------------------------------
// Quadrature
// ---------------------------------------------------------------------------------------

/// Gauss–Kronrod 15-point nodes (≥ 0) and weights, with the weights of the embedded 7-point
/// Gauss rule on the odd nodes (QUADPACK `qk15`).
const XGK: [f64; 8] = [
    0.991_455_371_120_812_6,
    0.949_107_912_342_758_5,
    0.864_864_423_359_769_1,
    0.741_531_185_599_394_4,
    0.586_087_235_467_691_1,
    0.405_845_151_377_397_2,
    0.207_784_955_007_898_5,
    0.0,
];
const WGK: [f64; 8] = [
    0.022_935_322_010_529_22,
    0.063_092_092_629_978_55,
    0.104_790_010_322_250_18,
    0.140_653_259_715_525_92,
    0.169_004_726_639_267_9,
    0.190_350_578_064_785_4,
    0.204_432_940_075_298_9,
    0.209_482_141_084_727_83,
];
const WG: [f64; 4] = [
    0.129_484_966_168_869_7,
    0.279_705_391_489_276_7,
    0.381_830_050_505_118_9,
    0.417_959_183_673_469_4,
];

/// (Kronrod estimate, |Kronrod − Gauss|) of ∫ f over [a, b].
fn gk15(f: &impl Fn(f64) -> f64, a: f64, b: f64) -> (f64, f64) {
    let (c, h) = (0.5 * (a + b), 0.5 * (b - a));
    let fc = f(c);
    let (mut k, mut g) = (WGK[7] * fc, WG[3] * fc);
    for (i, (&xk, &wk)) in XGK.iter().zip(&WGK).take(7).enumerate() {
        let d = h * xk;
        let pair = f(c - d) + f(c + d);
        k += wk * pair;
        if i % 2 == 1 {
            g += WG[i / 2] * pair;
        }
    }
    (k * h, ((k - g) * h).abs())
}

/// ∫ f over [a, b] by adaptive Gauss–Kronrod: the interval with the largest error estimate
/// is halved until the estimates sum to at most 1e-14 of the integral (or 1e-300), at most
/// 500 intervals.
pub(crate) fn gauss_kronrod(f: impl Fn(f64) -> f64, a: f64, b: f64) -> f64 {
    let (k, e) = gk15(&f, a, b);
    let mut parts = vec![(a, b, k, e)];
    for _ in 0..500 {
        let total: f64 = parts.iter().map(|p| p.2).sum();
        let err: f64 = parts.iter().map(|p| p.3).sum();
        if err <= (1e-14 * total.abs()).max(1e-300) {
            break;
        }
        let worst = (0..parts.len())
            .max_by(|&i, &j| parts[i].3.total_cmp(&parts[j].3))
            .unwrap_or(0);
        let (lo, hi, _, _) = parts.swap_remove(worst);
        let mid = 0.5 * (lo + hi);
        let (k1, e1) = gk15(&f, lo, mid);
        let (k2, e2) = gk15(&f, mid, hi);
        parts.push((lo, mid, k1, e1));
        parts.push((mid, hi, k2, e2));
    }
    // Summed in interval order, so the result does not depend on the refinement order.
    parts.sort_by(|p, q| p.0.total_cmp(&q.0));
    parts.iter().map(|p| p.2).sum()
}

/// Running log-sum-exp.
#[derive(Debug, Clone, Copy)]
struct LogSum {
    max: f64,
    sum: f64,
}

impl LogSum {
    fn new() -> Self {
        LogSum {
            max: f64::NEG_INFINITY,
            sum: 0.0,
        }
    }

    fn add(&mut self, l: f64) {
        if l > self.max {
            self.sum = self.sum * (self.max - l).exp() + 1.0;
            self.max = l;
        } else if l > f64::NEG_INFINITY {
            self.sum += (l - self.max).exp();
        }
    }

    fn ln(&self) -> f64 {
        self.max + self.sum.ln()
    }
}

/// ln E[g(p)] for p ~ Beta(a, b), with `ln_g(p)` = ln g(p), by tanh-sinh quadrature in log
/// space: p = 1/(1 + e^(−2v)), v = π/2·sinh u, so ln p and ln(1−p) come from v without
/// rounding and tiny or concentrated integrands keep their relative accuracy. The step is
/// halved (from 1/2) until two levels agree to 1e-14.
pub(crate) fn ln_beta_expectation(a: f64, b: f64, ln_g: impl Fn(f64) -> f64) -> f64 {
    let lb = ln_beta(a, b);
    let term = |u: f64| {
        let v = 0.5 * PI * u.sinh();
        let (ln_p, ln_q) = (-softplus(-2.0 * v), -softplus(2.0 * v));
        a * ln_p + b * ln_q - lb + ln_g(ln_p.exp()) + (PI * u.cosh()).ln()
    };
    // The range of u: walk out from 0 at the coarse step until the terms are e^−60 below the
    // largest seen and falling (|u| ≤ 12 in any case: there |v| > 10⁵).
    let mut h = 0.5;
    let mut coarse = LogSum::new();
    let mut ends = [0.0; 2];
    let l0 = term(0.0);
    coarse.add(l0);
    for (e, dir) in ends.iter_mut().zip([1.0, -1.0]) {
        let mut prev = l0;
        let mut u = 0.0;
        loop {
            u += dir * h;
            let l = term(u);
            coarse.add(l);
            if (l < coarse.max - 60.0 && l <= prev) || u.abs() >= 12.0 || l.is_nan() {
                break;
            }
            prev = l;
        }
        *e = u;
    }
    let (lo, hi) = (ends[1], ends[0]);
    let mut sum = coarse;
    let mut value = sum.ln() + h.ln();
    for _ in 0..10 {
        // Halving the step: the new points are the midpoints of the old grid.
        let mut u = lo + 0.5 * h;
        while u < hi {
            sum.add(term(u));
            u += h;
        }
        h *= 0.5;
        let next = sum.ln() + h.ln();
        let done = (next - value).abs() <= 1e-14;
        value = next;
        if done {
            break;
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bgnbd() -> BgNbd {
        BgNbd::new(0.243, 4.414, 0.793, 2.426).unwrap()
    }
    fn mbgnbd() -> MbgNbd {
        MbgNbd::new(0.525, 6.183, 0.891, 1.614).unwrap()
    }
    fn pareto() -> ParetoNbd {
        ParetoNbd::new(0.553, 10.578, 0.606, 11.669).unwrap()
    }
    fn bgbb() -> BgBb {
        BgBb::new(1.204, 0.750, 0.657, 2.783).unwrap()
    }
    fn models() -> [Model; 4] {
        [
            Model::BgNbd(bgnbd()),
            Model::MbgNbd(mbgnbd()),
            Model::ParetoNbd(pareto()),
            Model::BgBb(bgbb()),
        ]
    }

    /// Histories (x, tₓ, T) valid for all four models (whole numbers for BG/BB).
    const HISTORIES: [(f64, f64, f64); 5] = [
        (0.0, 0.0, 6.0),
        (2.0, 5.0, 6.0),
        (3.0, 3.0, 6.0),
        (6.0, 6.0, 6.0),
        (10.0, 12.0, 40.0),
    ];

    #[test]
    fn gauss_kronrod_weights_integrate_polynomials_exactly() {
        // K15 is exact to degree 22, G7 to degree 13.
        for d in 0..=22 {
            let (k, _) = gk15(&|v: f64| v.powi(d), 0.0, 1.0);
            let e = 1.0 / f64::from(d + 1);
            assert!((k - e).abs() < 1e-15, "degree {d}: {k} vs {e}");
        }
        for d in 0..=13 {
            let (_, err) = gk15(&|v: f64| v.powi(d), 0.0, 1.0);
            assert!(err < 1e-15, "degree {d}: {err}");
        }
        let v = gauss_kronrod(|v| (-v).exp(), 0.0, 50.0);
        assert!((v + (-50.0_f64).exp_m1()).abs() < 1e-15);
    }

    #[test]
    fn beta_expectation_matches_closed_forms() {
        // E[p] = a/(a+b); E[(1−p)^k] = B(a, b+k)/B(a, b).
        for (a, b) in [(0.79, 2.43), (0.05, 0.3), (3.0, 500.0), (0.9, 1e4)] {
            let m = ln_beta_expectation(a, b, f64::ln).exp();
            // lnB(a, b) itself is good to about 1e-16·lnΓ(b): 1e-11 at b = 1e4.
            assert!((m / (a / (a + b)) - 1.0).abs() < 1e-10, "{a} {b}: {m}");
            let k = 37.5;
            let l = ln_beta_expectation(a, b, |p| k * (-p).ln_1p());
            let e = ln_beta(a, b + k) - ln_beta(a, b);
            assert!((l - e).abs() < 1e-10, "{a} {b}: {l} vs {e}");
        }
    }

    #[test]
    fn bg_survival_series_and_quadrature_agree() {
        for (k, a_t, a, b1) in [
            (1.0_f64, 1.0_f64, 1.0_f64, 1.0_f64),
            (0.243, 42.4, 0.793, 2.426),
            (10.243, 44.4, 0.793, 12.426),
            (500.2, 44.0, 0.79, 502.4),
            (2.5, 10.0, 0.01, 0.5),
        ] {
            for tau in [0.5_f64, 10.0, 80.0, 300.0] {
                let w = tau / (a_t + tau);
                let series = (k * -(tau / a_t).ln_1p() + ln_hyp2f1(k, b1, a + b1, w)).exp();
                let c = tau / a_t;
                let quad = ln_beta_expectation(a, b1, |p| -k * (p * c).ln_1p()).exp();
                assert!(
                    (series - quad).abs() < 1e-12 * series.max(1e-300),
                    "{k} {a_t} {a} {b1} {tau}: {series} vs {quad}"
                );
            }
        }
    }

    #[test]
    fn zero_horizon_means_no_purchase_and_alive_as_now() {
        for m in models() {
            for (x, tx, t) in HISTORIES {
                assert_eq!(m.p_purchase(0.0, x, tx, t).unwrap(), 0.0);
                assert_eq!(m.p_no_purchase(0.0, x, tx, t).unwrap(), 1.0);
                let pa = m.p_alive(x, tx, t);
                assert!((m.p_alive_at(0.0, x, tx, t).unwrap() - pa).abs() < 1e-15);
            }
        }
    }

    #[test]
    fn long_horizons_reach_the_limits() {
        for (x, tx, t) in HISTORIES {
            // BG/NBD, MBG/NBD: everyone alive buys eventually, everyone dies eventually.
            // (The approach is slow: 1 − (A/(A+τ))^k with k = r = 0.243 for x = 0.)
            let m = bgnbd();
            let pa = m.p_alive(x, tx, t);
            assert_eq!(m.p_purchase(f64::INFINITY, x, tx, t), pa);
            let p = m.p_purchase(1e12, x, tx, t);
            assert!(p <= pa && pa - p < 1e-2 * pa, "{p} vs {pa}");
            assert!(m.p_alive_at(1e12, x, tx, t) < 1e-2);
            assert_eq!(m.p_alive_at(f64::INFINITY, x, tx, t), 0.0);
            let m = mbgnbd();
            assert_eq!(m.p_purchase(f64::INFINITY, x, tx, t), m.p_alive(x, tx, t));
            // Pareto/NBD: P(alive)·E[λ/(λ+μ)], and the dropout makes it < P(alive).
            let m = pareto();
            let lim = m.p_purchase(f64::INFINITY, x, tx, t);
            assert!((m.p_purchase(1e15, x, tx, t) - lim).abs() < 1e-12);
            assert!(lim < m.p_alive(x, tx, t));
            assert!(m.p_alive_at(1e15, x, tx, t) < 1e-6);
            // BG/BB: the sum settles.
            let m = bgbb();
            let (a, b) = (
                m.p_purchase(100_000, x, tx, t),
                m.p_purchase(200_000, x, tx, t),
            );
            assert!(b >= a && b - a < 1e-3, "{a} {b}");
        }
    }

    #[test]
    fn pareto_limit_is_the_expected_share_of_purchases_before_dropout() {
        // E[λ/(λ+μ)] for independent λ ~ Gamma(k, A), μ ~ Gamma(s, B), by a direct 1-D
        // integral: λ/(λ+μ) = ∫₀^∞ λ e^(−(λ+μ)u) du, so E = ∫₀^∞ (k/A)(A/(A+u))^(k+1)
        // (B/(B+u))^s du, on u = tan(φ) here.
        let m = pareto();
        let (x, t) = (2.0, 38.0);
        let [r, alpha, s, beta] = m.params();
        let (k, a_t, b_t) = (r + x, alpha + t, beta + t);
        let e = gauss_kronrod(
            |phi: f64| {
                let u = phi.tan();
                let jac = 1.0 / phi.cos().powi(2);
                k / a_t * (a_t / (a_t + u)).powf(k + 1.0) * (b_t / (b_t + u)).powf(s) * jac
            },
            0.0,
            std::f64::consts::FRAC_PI_2 * (1.0 - 1e-15),
        );
        let got = m.purchase_if_alive(f64::INFINITY, x, t);
        assert!((got - e).abs() < 1e-9, "{got} vs {e}");
    }

    #[test]
    fn heavy_buyers_long_horizons_and_near_dead_customers_stay_finite() {
        // x = 500 (far recent or long ago), τ = 1e6, P(alive) near 1e-300.
        let cases = [
            (500.0, 38.0, 39.0),
            (500.0, 1.0, 39.0),
            (0.0, 0.0, 39.0),
            (300.0, 10.0, 700.0),
        ];
        for m in &models()[..3] {
            for (x, tx, t) in cases {
                for tau in [0.0, 1e-9, 1.0, 39.0, 1e6] {
                    let p = m.p_purchase(tau, x, tx, t).unwrap();
                    let q = m.p_alive_at(tau, x, tx, t).unwrap();
                    assert!((0.0..=1.0).contains(&p), "{m:?} {x} {tx} {t} {tau}: {p}");
                    assert!((0.0..=1.0).contains(&q), "{m:?} {x} {tx} {t} {tau}: {q}");
                }
                let n = m.next_purchase_time(x, tx, t, 1e6).unwrap();
                assert!(n.is_none_or(|v| v.is_finite() && v > 0.0));
            }
        }
        let m = bgbb();
        for (x, tx, n) in [
            (0.0, 0.0, 6.0),
            (500.0, 500.0, 500.0),
            (500.0, 500.0, 900.0),
        ] {
            let p = m.p_purchase(1_000_000, x, tx, n);
            assert!((0.0..=1.0).contains(&p), "{x} {tx} {n}: {p}");
        }
    }

    #[test]
    fn tiny_p_alive_scales_the_purchase_chance() {
        // The earliest last purchase at which P(alive) is not 0: around 1e-300 or below.
        let (x, t) = (500.0, 700.0);
        let first = |pa: &dyn Fn(f64) -> f64| {
            (1..700)
                .map(f64::from)
                .find(|&tx| pa(tx) > 0.0)
                .expect("alive at tₓ = T")
        };
        let m = pareto();
        let tx = first(&|tx| m.p_alive(x, tx, t));
        let pa = m.p_alive(x, tx, t);
        assert!(pa < 1e-290, "{pa}");
        let p = m.p_purchase(10.0, x, tx, t);
        assert!(p > 0.0 && p <= pa, "{p} vs {pa}");
        assert_eq!(m.p_no_purchase(10.0, x, tx, t), 1.0);
        assert!(m.p_alive_at(10.0, x, tx, t) <= pa);
        assert!(m.next_purchase_time(x, tx, t, 1e9).is_none());
        let b = bgnbd();
        let tx = first(&|tx| b.p_alive(x, tx, t));
        let pa = b.p_alive(x, tx, t);
        assert!(pa < 1e-290, "{pa}");
        assert!(b.p_purchase(10.0, x, tx, t) > 0.0);
        assert!(b.p_alive_at(10.0, x, tx, t) > 0.0);
        assert!(b.next_purchase_time(x, tx, t, 1e9).is_none());
    }

    #[test]
    fn median_is_where_the_purchase_chance_reaches_one_half() {
        for m in &models()[..3] {
            for (x, tx, t) in [(2.0, 35.0, 38.0), (10.0, 37.0, 40.0), (0.0, 0.0, 0.5)] {
                let Some(tau) = m.next_purchase_time(x, tx, t, 1e6).unwrap() else {
                    continue;
                };
                let p = m.p_purchase(tau, x, tx, t).unwrap();
                assert!((p - 0.5).abs() < 1e-10, "{m:?} {x}: P({tau}) = {p}");
                assert!(
                    m.next_purchase_time(x, tx, t, tau * 0.999)
                        .unwrap()
                        .is_none()
                );
            }
        }
        let m = bgbb();
        let n = m
            .next_purchase_time(6.0, 6.0, 6.0, 100)
            .expect("a regular buyer");
        assert!(m.p_purchase(n, 6.0, 6.0, 6.0) >= 0.5);
        assert!(m.p_purchase(n - 1, 6.0, 6.0, 6.0) < 0.5);
        assert_eq!(
            Model::BgBb(m)
                .next_purchase_time(6.0, 6.0, 6.0, 100.0)
                .unwrap(),
            Some(f64::from(n))
        );
    }

    #[test]
    fn bad_arguments_are_the_callers_fault() {
        let m = Model::BgNbd(bgnbd());
        for tau in [-1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                m.p_purchase(tau, 1.0, 2.0, 3.0),
                Err(ClvError::InvalidArgument { name: "tau", .. })
            ));
            assert!(m.p_alive_at(tau, 1.0, 2.0, 3.0).is_err());
        }
        for max in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                m.next_purchase_time(1.0, 2.0, 3.0, max),
                Err(ClvError::InvalidArgument { name: "max", .. })
            ));
        }
    }

    #[test]
    fn whole_table_versions_equal_the_row_by_row_values() {
        let (mut x, mut tx, mut t) = (vec![], vec![], vec![]);
        for i in 0..300 {
            let n = 6.0 + (i % 3) as f64;
            let xi = (i % 5) as f64;
            x.push(xi);
            tx.push(if xi == 0.0 {
                0.0
            } else {
                (xi + (i % 2) as f64).min(n)
            });
            t.push(n);
        }
        let data = CalibrationData::new(x, tx, t).unwrap();
        for m in models() {
            let (xs, txs, ts) = (data.frequency(), data.recency(), data.age());
            let p = m.p_purchase_all(4.0, &data).unwrap();
            let a = m.p_alive_at_all(4.0, &data).unwrap();
            let n = m.next_purchase_time_all(30.0, &data).unwrap();
            for i in 0..data.len() {
                assert_eq!(p[i], m.p_purchase(4.0, xs[i], txs[i], ts[i]).unwrap());
                assert_eq!(a[i], m.p_alive_at(4.0, xs[i], txs[i], ts[i]).unwrap());
                assert_eq!(
                    n[i],
                    m.next_purchase_time(xs[i], txs[i], ts[i], 30.0).unwrap()
                );
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn probabilities_are_in_range_and_monotone_in_tau(
            which in 0usize..4,
            x in 0u32..60,
            gap in 0u32..40,
            extra in 0u32..40,
            tau in 0.0f64..200.0,
            more in 0.0f64..200.0,
        ) {
            let m = models()[which];
            let x = f64::from(x);
            let tx = if x == 0.0 { 0.0 } else { x + f64::from(gap) };
            let t = tx.max(1.0) + f64::from(extra);
            let (t1, t2) = (tau, tau + more);
            let (p1, p2) = (m.p_purchase(t1, x, tx, t).unwrap(), m.p_purchase(t2, x, tx, t).unwrap());
            let (a1, a2) = (m.p_alive_at(t1, x, tx, t).unwrap(), m.p_alive_at(t2, x, tx, t).unwrap());
            prop_assert!((0.0..=1.0).contains(&p1) && (0.0..=1.0).contains(&p2));
            prop_assert!((0.0..=1.0).contains(&a1) && (0.0..=1.0).contains(&a2));
            prop_assert!(p2 >= p1 - 1e-13, "{:?}: P({}) = {} > P({}) = {}", m, t1, p1, t2, p2);
            prop_assert!(a2 <= a1 + 1e-13, "{:?}: alive({}) = {} < alive({}) = {}", m, t1, a1, t2, a2);
            prop_assert!(a1 <= m.p_alive(x, tx, t) + 1e-13);
        }
    }
}
