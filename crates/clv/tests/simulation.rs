//! Monte Carlo checks of the purchase-timing predictions (`clientele_clv::purchase`):
//! P(purchase in τ), P(alive at T + τ) and the median next-purchase time, for the four
//! transaction models at CDNOW-like parameters, to 1e-3 absolute.
//!
//! The simulator knows only each model's story, not its formulas: it draws a customer's own
//! parameters, weights the draw by the textbook likelihood of the observed history (x, tₓ, T)
//! for that customer (split into "still alive at T" and "dropped out before T"), and plays
//! the future forward (waiting times, dropout coins). The estimates are self-normalised
//! importance-sampling averages. The draws come from a proposal rather than the prior itself
//! (the prior rarely produces a rate that explains ten purchases), and each weight is
//! prior × likelihood / proposal, all three as plain log densities, so the proposal only
//! changes the noise, not what is estimated. Its rates are Gamma(shape + x, rate + tₓ) and its
//! Beta dropout chances have the observed misses added; with those the weights are bounded
//! and nearly all draws count.
//!
//! The future's uniforms are stratified within each of 20 independent replicates, and the
//! standard error of each estimate (from the spread of the replicates) is checked to be
//! below 3e-4, so a miss of 1e-3 (over 3 standard errors) points at a formula, not at noise.
//! The largest errors are for customers without repeat purchases, whose P(alive) and rates
//! vary most between draws.
#![allow(clippy::unwrap_used)]

use clientele_clv::{BgBb, BgNbd, MbgNbd, Model, ParetoNbd};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution, Gamma};
use statrs::function::gamma::ln_gamma;

/// Draws per history.
const DRAWS: usize = 3_000_000;
/// Independent replicates the draws are split into.
const REPLICATES: usize = 20;
/// Allowed gap between simulation and model.
const TOL: f64 = 1e-3;
/// Largest standard error accepted for an estimate.
const MAX_SE: f64 = 3e-4;

/// A log density with its normalising constant computed once.
#[derive(Debug, Clone, Copy)]
enum LnPdf {
    /// Gamma(shape, rate).
    Gamma { shape: f64, rate: f64, c: f64 },
    /// Beta(a, b).
    Beta { a: f64, b: f64, c: f64 },
}

impl LnPdf {
    fn gamma(shape: f64, rate: f64) -> Self {
        let c = shape * rate.ln() - ln_gamma(shape);
        LnPdf::Gamma { shape, rate, c }
    }

    fn beta(a: f64, b: f64) -> Self {
        let c = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b);
        LnPdf::Beta { a, b, c }
    }

    fn at(&self, v: f64) -> f64 {
        match *self {
            LnPdf::Gamma { shape, rate, c } => c + (shape - 1.0) * v.ln() - rate * v,
            LnPdf::Beta { a, b, c } => c + (a - 1.0) * v.ln() + (b - 1.0) * (-v).ln_1p(),
        }
    }
}

/// One simulated customer: log weights of "alive at T" and "dropped out before T" (−∞ when
/// impossible), and, for the alive branch, the wait to the first future purchase (∞ if none
/// comes before the dropout) and the time of the dropout.
#[derive(Debug, Clone, Copy)]
struct Path {
    ln_alive: f64,
    ln_dead: f64,
    first: f64,
    death: f64,
}

/// Weighted futures of one replicate.
struct Replicate {
    /// (alive weight, dead weight, first purchase, death), weights scaled to max 1.
    rows: Vec<(f64, f64, f64, f64)>,
    total: f64,
}

impl Replicate {
    fn new(paths: Vec<Path>) -> Self {
        let top = paths
            .iter()
            .flat_map(|p| [p.ln_alive, p.ln_dead])
            .filter(|l| l.is_finite())
            .fold(f64::NEG_INFINITY, f64::max);
        let w = |l: f64| if l.is_finite() { (l - top).exp() } else { 0.0 };
        let rows: Vec<_> = paths
            .iter()
            .map(|p| (w(p.ln_alive), w(p.ln_dead), p.first, p.death))
            .collect();
        let total = rows.iter().map(|r| r.0 + r.1).sum();
        Replicate { rows, total }
    }

    /// Self-normalised estimate of P(event); the event can only happen in the alive branch.
    fn estimate(&self, event: &impl Fn(f64, f64) -> bool) -> f64 {
        let hit: f64 = self
            .rows
            .iter()
            .filter(|r| event(r.2, r.3))
            .map(|r| r.0)
            .sum();
        hit / self.total
    }

    /// Effective sample size (Kish).
    fn ess(&self) -> f64 {
        let sq: f64 = self.rows.iter().map(|r| r.0 * r.0 + r.1 * r.1).sum();
        self.total * self.total / sq
    }
}

/// Independent replicates: the estimate is their mean, its standard error their spread
/// (the stratified uniforms make the usual i.i.d. formula too pessimistic).
struct Sample(Vec<Replicate>);

impl Sample {
    fn estimate(&self, event: impl Fn(f64, f64) -> bool) -> (f64, f64) {
        let v: Vec<f64> = self.0.iter().map(|r| r.estimate(&event)).collect();
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let var = v.iter().map(|e| (e - mean).powi(2)).sum::<f64>() / (n - 1.0);
        (mean, (var / n).sqrt())
    }

    fn p_purchase(&self, tau: f64) -> (f64, f64) {
        self.estimate(|first, _| first <= tau)
    }

    fn p_alive_at(&self, tau: f64) -> (f64, f64) {
        self.estimate(|_, death| death > tau)
    }

    /// Smallest effective sample size of a replicate, as a share of its draws.
    fn ess_share(&self) -> f64 {
        self.0
            .iter()
            .map(|r| r.ess() / r.rows.len() as f64)
            .fold(f64::INFINITY, f64::min)
    }
}

/// Runs `REPLICATES` replicates of `DRAWS / REPLICATES` draws. `draw` gets the generator for
/// the customer's parameters and three uniforms in (0, 1] for the future; each of those is
/// stratified over the replicate (one per slice ((k−1)/n, k/n], in random order), which keeps
/// every draw's future exact while taking most of the coin-flip noise out of the averages.
fn simulate(seed: u64, draw: impl Fn(&mut ChaCha8Rng, [f64; 3]) -> Path) -> Sample {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n = DRAWS / REPLICATES;
    let reps = (0..REPLICATES)
        .map(|_| {
            let mut strata = [(); 3].map(|_| {
                let mut u: Vec<f64> = (0..n)
                    .map(|k| 1.0 - (k as f64 + rng.random::<f64>()) / n as f64)
                    .collect();
                u.shuffle(&mut rng);
                u
            });
            let paths = (0..n)
                .map(|i| {
                    let u = [strata[0][i], strata[1][i], strata[2][i]];
                    draw(&mut rng, u)
                })
                .collect();
            for s in &mut strata {
                s.clear();
            }
            Replicate::new(paths)
        })
        .collect();
    Sample(reps)
}

/// Exponential waiting time with rate `rate` from a uniform in (0, 1].
fn exp_wait(u: f64, rate: f64) -> f64 {
    -u.ln() / rate
}

/// Trials up to and including the first success (chance `q` each) from a uniform in (0, 1].
fn geometric(u: f64, q: f64) -> f64 {
    (u.ln() / (-q).ln_1p()).ceil().max(1.0)
}

/// BG/NBD (`modified = false`) or MBG/NBD (`true`): λ ~ Gamma(r, α), p ~ Beta(a, b); a live
/// customer buys at rate λ and drops out after each purchase with chance p (MBG/NBD also
/// right after the first purchase, at time 0).
fn simulate_bg(params: [f64; 4], modified: bool, (x, tx, t): (f64, f64, f64), seed: u64) -> Sample {
    let [r, alpha, a, b] = params;
    // Misses (purchases without dropout) in the history: x, or x + 1 with the first purchase.
    let misses = if modified { x + 1.0 } else { x };
    let (q_shape, q_rate) = (r + x, alpha + tx);
    let q_b = b + (misses - 1.0).max(0.0);
    let lam_q = Gamma::new(q_shape, 1.0 / q_rate).unwrap();
    let p_q = Beta::new(a, q_b).unwrap();
    let (lam_prior, p_prior) = (LnPdf::gamma(r, alpha), LnPdf::beta(a, b));
    let (lam_prop, p_prop) = (LnPdf::gamma(q_shape, q_rate), LnPdf::beta(a, q_b));
    simulate(seed, |rng, [u1, u2, u3]| {
        let lam: f64 = lam_q.sample(rng);
        let p: f64 = p_q.sample(rng);
        let ln_ratio = lam_prior.at(lam) + p_prior.at(p) - lam_prop.at(lam) - p_prop.at(p);
        // Alive at T: x purchases in (0, T] and no dropout at any of the `misses` chances.
        let ln_alive = x * lam.ln() - lam * t + misses * (-p).ln_1p();
        // Dropped out at the last purchase (at tₓ): possible after a repeat purchase
        // (BG/NBD) or also at time 0 (MBG/NBD).
        let ln_dead = if x > 0.0 || modified {
            x * lam.ln() - lam * tx + (misses - 1.0) * (-p).ln_1p() + p.ln()
        } else {
            f64::NEG_INFINITY
        };
        // The future of a live customer: purchases at rate λ, each ending the life with
        // chance p. If the first does not, the further purchases up to the one that does
        // are a geometric number of exponential waits, which add up to an exponential
        // wait with rate λp.
        let first = exp_wait(u1, lam);
        let death = if u2 <= p {
            first
        } else {
            first + exp_wait(u3, lam * p)
        };
        Path {
            ln_alive: ln_alive + ln_ratio,
            ln_dead: ln_dead + ln_ratio,
            first,
            death,
        }
    })
}

/// Pareto/NBD: λ ~ Gamma(r, α), μ ~ Gamma(s, β); purchases at rate λ until an exponential
/// lifetime with rate μ ends.
fn simulate_pareto(params: [f64; 4], (x, tx, t): (f64, f64, f64), seed: u64) -> Sample {
    let [r, alpha, s, beta] = params;
    let lam_q = Gamma::new(r + x, 1.0 / (alpha + tx)).unwrap();
    let mu_q = Gamma::new(s, 1.0 / (beta + tx)).unwrap();
    let (lam_prior, mu_prior) = (LnPdf::gamma(r, alpha), LnPdf::gamma(s, beta));
    let (lam_prop, mu_prop) = (LnPdf::gamma(r + x, alpha + tx), LnPdf::gamma(s, beta + tx));
    simulate(seed, |rng, [u1, u2, _]| {
        let lam: f64 = lam_q.sample(rng);
        let mu: f64 = mu_q.sample(rng);
        let ln_ratio = lam_prior.at(lam) + mu_prior.at(mu) - lam_prop.at(lam) - mu_prop.at(mu);
        let ln_alive = x * lam.ln() - (lam + mu) * t;
        // Died at some ω in (tₓ, T] without buying after tₓ:
        // λˣe^(−λtₓ) ∫ μe^(−μω) e^(−λ(ω−tₓ)) dω over (tₓ, T].
        let ln_dead = if tx < t {
            let k = lam + mu;
            x * lam.ln() + (mu / k).ln() - k * tx + (-(-k * (t - tx)).exp_m1()).ln()
        } else {
            f64::NEG_INFINITY
        };
        let first = exp_wait(u1, lam);
        let death = exp_wait(u2, mu);
        Path {
            ln_alive: ln_alive + ln_ratio,
            ln_dead: ln_dead + ln_ratio,
            first: if first < death { first } else { f64::INFINITY },
            death,
        }
    })
}

/// BG/BB: p ~ Beta(α, β), θ ~ Beta(γ, δ); at each opportunity a live customer first drops
/// out with chance θ, then buys with chance p.
fn simulate_bgbb(params: [f64; 4], (x, tx, n): (f64, f64, f64), seed: u64) -> Sample {
    let [alpha, beta, gamma, delta] = params;
    let p_q = Beta::new(alpha + x, beta + tx - x).unwrap();
    let th_q = Beta::new(gamma, delta + tx).unwrap();
    let (p_prior, th_prior) = (LnPdf::beta(alpha, beta), LnPdf::beta(gamma, delta));
    let (p_prop, th_prop) = (
        LnPdf::beta(alpha + x, beta + tx - x),
        LnPdf::beta(gamma, delta + tx),
    );
    simulate(seed, |rng, [u1, u2, _]| {
        let p: f64 = p_q.sample(rng);
        let th: f64 = th_q.sample(rng);
        let ln_ratio = p_prior.at(p) + th_prior.at(th) - p_prop.at(p) - th_prop.at(th);
        let (lp, lq, lth, lsurv) = (p.ln(), (-p).ln_1p(), th.ln(), (-th).ln_1p());
        let ln_alive = x * lp + (n - x) * lq + n * lsurv;
        // Dropped out at the start of opportunity tₓ + i + 1, i = 0..n−tₓ−1.
        let mut dead = 0.0;
        let mut i = 0.0;
        while tx + i < n {
            dead += (x * lp + (tx - x + i) * lq + lth + (tx + i) * lsurv).exp();
            i += 1.0;
        }
        // Opportunities until the dropout (at the start of one) and until the first purchase.
        let death = geometric(u2, th);
        let buy = geometric(u1, p);
        Path {
            ln_alive: ln_alive + ln_ratio,
            ln_dead: dead.ln() + ln_ratio,
            first: if buy < death { buy } else { f64::INFINITY },
            death,
        }
    })
}

/// Compares the simulation with the model at each horizon and at the model's median.
fn check(model: Model, sample: &Sample, h: (f64, f64, f64), horizons: &[f64], max: f64) {
    let (x, tx, t) = h;
    assert!(
        sample.ess_share() > 0.1,
        "{model:?} {h:?}: ESS {}",
        sample.ess_share()
    );
    let gap = |what: &str, tau: f64, (mc, se): (f64, f64), want: f64| {
        assert!(se < MAX_SE, "{model:?} {h:?} {what}({tau}): se {se}");
        assert!(
            (mc - want).abs() < TOL,
            "{model:?} {h:?} {what}({tau}): simulated {mc} ± {se}, model {want}"
        );
    };
    for &tau in horizons {
        gap(
            "p_purchase",
            tau,
            sample.p_purchase(tau),
            model.p_purchase(tau, x, tx, t).unwrap(),
        );
        gap(
            "p_alive_at",
            tau,
            sample.p_alive_at(tau),
            model.p_alive_at(tau, x, tx, t).unwrap(),
        );
    }
    match model.next_purchase_time(x, tx, t, max).unwrap() {
        // BG/BB: whole opportunities, the first by which half have bought.
        Some(m) if matches!(model, Model::BgBb(_)) => {
            let ((at, se1), (before, se2)) = (sample.p_purchase(m), sample.p_purchase(m - 1.0));
            assert!(
                se1 < MAX_SE && se2 < MAX_SE,
                "{model:?} {h:?}: se {se1} {se2}"
            );
            assert!(
                at > 0.5 - TOL && before < 0.5 + TOL,
                "{model:?} {h:?}: median {m}, simulated {before} then {at}"
            );
        }
        // Half of the simulated customers have bought by the median.
        Some(m) => gap("median", m, sample.p_purchase(m), 0.5),
        None => {
            // Fewer than half have bought by `max`, with room to spare.
            let (mc, se) = sample.p_purchase(max);
            assert!(mc + 3.0 * se < 0.5, "{model:?} {h:?}: {mc} ± {se}");
        }
    }
}

/// CDNOW-like histories in weeks (T ≈ 38): no repeat purchase; two, the last one recent;
/// ten, the last one long ago.
const WEEKS: [(f64, f64, f64); 3] = [(0.0, 0.0, 38.0), (2.0, 36.0, 38.0), (10.0, 20.0, 38.0)];
const WEEK_HORIZONS: [f64; 3] = [4.0, 13.0, 52.0];

#[test]
fn bg_nbd_matches_its_simulation() {
    let params = [0.243, 4.414, 0.793, 2.426];
    let model = Model::BgNbd(BgNbd::new(params[0], params[1], params[2], params[3]).unwrap());
    for (k, h) in WEEKS.into_iter().enumerate() {
        let sample = simulate_bg(params, false, h, 11 + k as u64);
        check(model, &sample, h, &WEEK_HORIZONS, 520.0);
    }
}

#[test]
fn mbg_nbd_matches_its_simulation() {
    let params = [0.525, 6.183, 0.891, 1.614];
    let model = Model::MbgNbd(MbgNbd::new(params[0], params[1], params[2], params[3]).unwrap());
    for (k, h) in WEEKS.into_iter().enumerate() {
        let sample = simulate_bg(params, true, h, 21 + k as u64);
        check(model, &sample, h, &WEEK_HORIZONS, 520.0);
    }
}

#[test]
fn pareto_nbd_matches_its_simulation() {
    let params = [0.55, 10.58, 0.61, 11.67];
    let model =
        Model::ParetoNbd(ParetoNbd::new(params[0], params[1], params[2], params[3]).unwrap());
    for (k, h) in WEEKS.into_iter().enumerate() {
        let sample = simulate_pareto(params, h, 31 + k as u64);
        check(model, &sample, h, &WEEK_HORIZONS, 520.0);
    }
}

#[test]
fn bg_bb_matches_its_simulation() {
    // Donations parameters (yearly opportunities): none; two, the last one just now; four,
    // the last one six opportunities ago.
    let params = [1.204, 0.750, 0.657, 2.783];
    let model = Model::BgBb(BgBb::new(params[0], params[1], params[2], params[3]).unwrap());
    for (k, h) in [(0.0, 0.0, 6.0), (2.0, 6.0, 6.0), (4.0, 4.0, 10.0)]
        .into_iter()
        .enumerate()
    {
        let sample = simulate_bgbb(params, h, 41 + k as u64);
        check(model, &sample, h, &[1.0, 3.0, 10.0], 50.0);
    }
}
