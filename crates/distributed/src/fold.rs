//! The embedded fold itself on the executors: a user-defined aggregate, `clientele_fold`,
//! and the extension codecs that carry it (with its as-of date and time unit) from the
//! client through the scheduler to the executors.
//!
//! Grouped by bucket (a refinement of the staging's customer-hash parts, so a bucket holds
//! every row of its customers), the partial aggregate keeps its rows (Arrow IPC), the final
//! one gathers a bucket's rows and runs [`clientele_ingest::fold_part`], the code an
//! embedded or spilled run folds with, and returns the bucket's customer table and detail
//! ([`crate::wire`]). So the cluster's result is the embedded fold's by construction, in one
//! job with one shuffle; the SQL plan ([`crate::plan`]) needs six jobs and only stock
//! executors. The executors must be `clientele cluster executor` processes (they register
//! the codec); stock Ballista executors cannot decode the plan.

use std::sync::Arc;

use ballista_core::serde::{BallistaLogicalExtensionCodec, BallistaPhysicalExtensionCodec};
use clientele_core::{Day, TimeUnit};
use clientele_ingest::IngestOptions;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, LargeBinaryArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, SchemaRef};
use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::ipc::writer::StreamWriter;
use datafusion::common::{DataFusionError, Result, ScalarValue, TableReference};
use datafusion::datasource::TableProvider;
use datafusion::datasource::file_format::FileFormatFactory;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Extension, LogicalPlan, Signature, Volatility,
};
use datafusion::physical_plan::ExecutionPlan;
use datafusion_proto::logical_plan::LogicalExtensionCodec;
use datafusion_proto::physical_plan::{PhysicalExtensionCodec, PhysicalProtoConverterExtension};
use serde::{Deserialize, Serialize};

/// The function's name in plans.
pub(crate) const FOLD: &str = "clientele_fold";

/// What the fold needs besides the rows: the as-of date and the column conventions of the
/// run (carried in the plan by the codecs).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) struct FoldParams {
    /// Days since 1970-01-01.
    pub as_of: i32,
    /// [`TimeUnit`] as written in config (`weeks`, `14 days`).
    pub unit: String,
    /// BTYD columns in calendar periods.
    pub calendar: bool,
    /// Months, category spend and seasonality too.
    pub detail: bool,
    /// Purchase days after `as_of` up to this day too (days since 1970-01-01).
    #[serde(default)]
    pub holdout_end: Option<i32>,
}

impl FoldParams {
    pub(crate) fn of(as_of: Day, opts: &IngestOptions) -> FoldParams {
        FoldParams {
            as_of: as_of.0,
            unit: opts.unit.name().into_owned(),
            calendar: opts.calendar_periods,
            detail: opts.monthly_activity,
            holdout_end: opts.holdout_end.map(|d| d.0),
        }
    }

    /// The options [`clientele_ingest::fold_part`] reads.
    fn options(&self) -> Result<IngestOptions> {
        let mut opts = IngestOptions::new(Vec::new());
        opts.unit = self
            .unit
            .parse::<TimeUnit>()
            .map_err(|e| DataFusionError::Plan(format!("{FOLD}: time unit: {e}")))?;
        opts.calendar_periods = self.calendar;
        opts.monthly_activity = self.detail;
        opts.holdout_end = self.holdout_end.map(Day);
        Ok(opts)
    }
}

/// `clientele_fold(customer_id, order_date, amount, order_fp, category, profit, quantity)`:
/// the rows of a group folded into its customers' table, as [`crate::wire`] bytes.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct FoldUdaf {
    params: FoldParams,
    signature: Signature,
}

impl FoldUdaf {
    pub(crate) fn new(params: FoldParams) -> FoldUdaf {
        FoldUdaf {
            params,
            signature: Signature::any(
                clientele_ingest::validated_schema().fields().len(),
                Volatility::Immutable,
            ),
        }
    }

    pub(crate) fn udaf(params: FoldParams) -> AggregateUDF {
        AggregateUDF::new_from_impl(FoldUdaf::new(params))
    }
}

impl AggregateUDFImpl for FoldUdaf {
    fn name(&self) -> &str {
        FOLD
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::LargeBinary)
    }

    fn accumulator(&self, _: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(FoldAccumulator {
            params: self.params.clone(),
            schema: clientele_ingest::validated_schema(),
            rows: Vec::new(),
            bytes: 0,
        }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(
            format!("{}[rows]", args.name),
            DataType::LargeBinary,
            true,
        ))])
    }
}

/// One group's rows until they are folded.
#[derive(Debug)]
struct FoldAccumulator {
    params: FoldParams,
    schema: SchemaRef,
    rows: Vec<RecordBatch>,
    bytes: usize,
}

fn external(what: &str, e: impl std::fmt::Display) -> DataFusionError {
    DataFusionError::Execution(format!("{FOLD}: {what}: {e}"))
}

impl FoldAccumulator {
    fn keep(&mut self, b: RecordBatch) {
        self.bytes += b.get_array_memory_size();
        self.rows.push(b);
    }

    /// The rows kept so far, handed on.
    fn take(&mut self) -> Vec<RecordBatch> {
        self.bytes = 0;
        std::mem::take(&mut self.rows)
    }
}

impl Accumulator for FoldAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let fields = self.schema.fields();
        if values.len() != fields.len() {
            return Err(external(
                "arguments",
                format!("{} given, {} expected", values.len(), fields.len()),
            ));
        }
        // the scan may read text as views, or ids as another string type: the fold's types
        let cols = values
            .iter()
            .zip(fields.iter())
            .map(|(v, f)| cast(v, f.data_type()).map_err(|e| external(f.name(), e)))
            .collect::<Result<Vec<_>>>()?;
        let b = RecordBatch::try_new(Arc::clone(&self.schema), cols)
            .map_err(|e| external("the rows", e))?;
        self.keep(b);
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let opts = self.params.options()?;
        let part = clientele_ingest::fold_part(&self.take(), Day(self.params.as_of), &opts)
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        let bytes = crate::wire::encode(&part).map_err(|e| external("the result", e))?;
        Ok(ScalarValue::LargeBinary(Some(bytes)))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.bytes
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let mut out = Vec::new();
        {
            let mut w = StreamWriter::try_new(&mut out, &self.schema)
                .map_err(|e| external("the partial rows", e))?;
            for b in self.take() {
                w.write(&b).map_err(|e| external("the partial rows", e))?;
            }
            w.finish().map_err(|e| external("the partial rows", e))?;
        }
        Ok(vec![ScalarValue::LargeBinary(Some(out))])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let Some(blobs) = states.first() else {
            return Err(external("the partial rows", "no state column"));
        };
        let blobs: &LargeBinaryArray = blobs
            .as_binary_opt::<i64>()
            .ok_or_else(|| external("the partial rows", "not binary"))?;
        for i in (0..blobs.len()).filter(|&i| blobs.is_valid(i)) {
            let reader = StreamReader::try_new(std::io::Cursor::new(blobs.value(i)), None)
                .map_err(|e| external("the partial rows", e))?;
            for b in reader {
                self.keep(b.map_err(|e| external("the partial rows", e))?);
            }
        }
        Ok(())
    }
}

/// `node` encoded (the codecs' shared part): `clientele_fold` as its parameters, any other
/// function by `other`.
fn encode_udaf(
    node: &AggregateUDF,
    buf: &mut Vec<u8>,
    other: impl FnOnce(&AggregateUDF, &mut Vec<u8>) -> Result<()>,
) -> Result<()> {
    match node.inner().as_ref().downcast_ref::<FoldUdaf>() {
        Some(f) => serde_json::to_writer(buf, &f.params).map_err(|e| external("encoding", e)),
        None => other(node, buf),
    }
}

/// The function `name`: `clientele_fold` from its parameters, any other by `other`.
fn decode_udaf(
    name: &str,
    buf: &[u8],
    other: impl FnOnce(&str, &[u8]) -> Result<Arc<AggregateUDF>>,
) -> Result<Arc<AggregateUDF>> {
    if name != FOLD {
        return other(name, buf);
    }
    let params: FoldParams = serde_json::from_slice(buf).map_err(|e| external("decoding", e))?;
    Ok(Arc::new(FoldUdaf::udaf(params)))
}

/// Ballista's logical codec, knowing `clientele_fold` too.
#[derive(Debug, Default)]
pub(crate) struct FoldLogicalCodec {
    inner: BallistaLogicalExtensionCodec,
}

impl LogicalExtensionCodec for FoldLogicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[LogicalPlan],
        ctx: &TaskContext,
    ) -> Result<Extension> {
        self.inner.try_decode(buf, inputs, ctx)
    }

    fn try_encode(&self, node: &Extension, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode(node, buf)
    }

    fn try_decode_table_provider(
        &self,
        buf: &[u8],
        table_ref: &TableReference,
        schema: SchemaRef,
        ctx: &TaskContext,
    ) -> Result<Arc<dyn TableProvider>> {
        self.inner
            .try_decode_table_provider(buf, table_ref, schema, ctx)
    }

    fn try_encode_table_provider(
        &self,
        table_ref: &TableReference,
        node: Arc<dyn TableProvider>,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        self.inner.try_encode_table_provider(table_ref, node, buf)
    }

    fn try_decode_file_format(
        &self,
        buf: &[u8],
        ctx: &TaskContext,
    ) -> Result<Arc<dyn FileFormatFactory>> {
        self.inner.try_decode_file_format(buf, ctx)
    }

    fn try_encode_file_format(
        &self,
        buf: &mut Vec<u8>,
        node: Arc<dyn FileFormatFactory>,
    ) -> Result<()> {
        self.inner.try_encode_file_format(buf, node)
    }

    fn try_decode_udaf(&self, name: &str, buf: &[u8]) -> Result<Arc<AggregateUDF>> {
        decode_udaf(name, buf, |n, b| self.inner.try_decode_udaf(n, b))
    }

    fn try_encode_udaf(&self, node: &AggregateUDF, buf: &mut Vec<u8>) -> Result<()> {
        encode_udaf(node, buf, |n, b| self.inner.try_encode_udaf(n, b))
    }
}

/// Ballista's physical codec, knowing `clientele_fold` too.
#[derive(Debug, Default)]
pub(crate) struct FoldPhysicalCodec {
    inner: BallistaPhysicalExtensionCodec,
}

impl PhysicalExtensionCodec for FoldPhysicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        ctx: &TaskContext,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.inner.try_decode(buf, inputs, ctx, proto_converter)
    }

    fn try_encode(
        &self,
        node: Arc<dyn ExecutionPlan>,
        buf: &mut Vec<u8>,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<()> {
        self.inner.try_encode(node, buf, proto_converter)
    }

    fn try_decode_udaf(&self, name: &str, buf: &[u8]) -> Result<Arc<AggregateUDF>> {
        decode_udaf(name, buf, |n, b| self.inner.try_decode_udaf(n, b))
    }

    fn try_encode_udaf(&self, node: &AggregateUDF, buf: &mut Vec<u8>) -> Result<()> {
        encode_udaf(node, buf, |n, b| self.inner.try_encode_udaf(n, b))
    }
}
