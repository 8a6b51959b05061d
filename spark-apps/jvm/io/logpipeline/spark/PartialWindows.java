package io.logpipeline.spark;

import java.sql.Timestamp;
import java.time.Instant;

import org.apache.datasketches.kll.KllDoublesSketch;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.internal.SQLConf;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The real-time aggregates query's partial window totals: in each task, the events of a (window, api, log_level)
 * combined into one row at most once per interval ({@link IntervalPerKey}), which the stateful aggregation then
 * merges. Aggregating each event in the state costs a read, a KLL merge and a write of the window's ~5 KB sketch per
 * event; a partial costs that once per interval.
 *
 * <p>A partial holds what the per-event aggregation would: its events' count, the sum and count of their response
 * times (for the mean), their least and greatest, the count per status class and a KLL sketch (of {@code k}) of the
 * response times, serialized as Spark's {@code kll_sketch_agg_double} serializes its own (both are DataSketches'
 * {@code KllDoublesSketch}), and its newest event's event time, which lies in the same window as all of them.
 */
public final class PartialWindows implements IntervalPerKey.Combiner<PartialWindows.Totals> {
  private static final long serialVersionUID = 1L;
  /** The partials' columns. */
  public static final StructType SCHEMA =
      new StructType()
          .add("event_time", DataTypes.TimestampType)
          .add("api", DataTypes.StringType)
          .add("log_level", DataTypes.StringType)
          .add("log_count", DataTypes.LongType, false)
          .add("response_time_sum", DataTypes.DoubleType)
          .add("response_time_count", DataTypes.LongType, false)
          .add("min_response_time", DataTypes.DoubleType)
          .add("max_response_time", DataTypes.DoubleType)
          .add("status_2xx", DataTypes.LongType, false)
          .add("status_3xx", DataTypes.LongType, false)
          .add("status_4xx", DataTypes.LongType, false)
          .add("status_5xx", DataTypes.LongType, false)
          .add("_sketch", DataTypes.BinaryType);

  private final int millis;
  private final boolean instants;
  private final int api;
  private final int level;
  private final int responseTime;
  private final int status;
  private final int k;

  private PartialWindows(StructType input, boolean instants, int k) {
    millis = input.fieldIndex("timestamp");
    this.instants = instants;
    api = input.fieldIndex("api");
    level = input.fieldIndex("log_level");
    responseTime = input.fieldIndex("response_time");
    status = input.fieldIndex("status_code");
    this.k = k;
  }

  /**
   * The partial totals ({@link #SCHEMA}) of {@code events} (the aggregation's input: {@code timestamp} in epoch ms,
   * {@code api}, {@code log_level}, {@code response_time}, {@code status_code}) per window ({@code windowColumn}: any
   * value that tells the event's window) api and level, at most one per key per {@code intervalMs} in each task. Each
   * event becomes a {@code Row} here, so {@code events} should have no other column: an event time (a {@code
   * Timestamp} per event) comes from {@code timestamp} instead, and a window is best told by a number.
   */
  public static Dataset<Row> apply(Dataset<Row> events, String windowColumn, long intervalMs, int k) {
    StructType input = events.schema();
    int[] keys = {input.fieldIndex(windowColumn), input.fieldIndex("api"), input.fieldIndex("log_level")};
    boolean instants = SQLConf.get().datetimeJava8ApiEnabled(); // the type a Row holds a timestamp in
    IntervalPerKey combined = new IntervalPerKey(keys, intervalMs, new PartialWindows(input, instants, k));
    return events.mapPartitions(combined, Encoders.row(SCHEMA));
  }

  /** One key's events so far. */
  static final class Totals {
    private long newest = Long.MIN_VALUE;
    private String api;
    private String level;
    private long count;
    private double sum;
    private long timed;
    private double min;
    private double max;
    private final long[] statuses = new long[4];
    private KllDoublesSketch sketch;
  }

  @Override
  public Totals start(Row row) {
    Totals totals = new Totals();
    totals.api = row.getString(api);
    totals.level = row.getString(level);
    return add(totals, row);
  }

  @Override
  public Totals add(Totals totals, Row row) {
    totals.newest = Math.max(totals.newest, row.getLong(millis));
    totals.count++;
    if (!row.isNullAt(responseTime)) {
      double value = row.getDouble(responseTime);
      totals.min = totals.timed == 0 ? value : Math.min(totals.min, value);
      totals.max = totals.timed == 0 ? value : Math.max(totals.max, value);
      totals.timed++;
      totals.sum += value;
      if (totals.sketch == null) {
        totals.sketch = KllDoublesSketch.newHeapInstance(k);
      }
      totals.sketch.update(value);
    }
    if (!row.isNullAt(status)) {
      int code = row.getInt(status);
      totals.statuses[code < 300 ? 0 : code < 400 ? 1 : code < 500 ? 2 : 3]++;
    }
    return totals;
  }

  @Override
  public Row finish(Totals totals) {
    boolean timed = totals.timed > 0;
    long[] s = totals.statuses;
    return RowFactory.create(
        instants ? Instant.ofEpochMilli(totals.newest) : new Timestamp(totals.newest),
        totals.api,
        totals.level,
        totals.count,
        timed ? totals.sum : null,
        totals.timed,
        timed ? totals.min : null,
        timed ? totals.max : null,
        s[0],
        s[1],
        s[2],
        s[3],
        timed ? totals.sketch.toByteArray() : null);
  }
}
