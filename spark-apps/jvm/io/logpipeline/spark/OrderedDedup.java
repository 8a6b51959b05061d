package io.logpipeline.spark;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.floor;
import static org.apache.spark.sql.functions.hash;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.pmod;

import java.util.ArrayList;
import java.util.List;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.streaming.ExpiredTimerInfo;
import org.apache.spark.sql.streaming.OutputMode;
import org.apache.spark.sql.streaming.StatefulProcessor;
import org.apache.spark.sql.streaming.TTLConfig;
import org.apache.spark.sql.streaming.TimeMode;
import org.apache.spark.sql.streaming.TimerValues;
import org.apache.spark.sql.streaming.ValueState;
import org.apache.spark.sql.types.StructType;

import scala.collection.Iterator;
import scala.jdk.javaapi.CollectionConverters;

/**
 * The aggregates query's de-dup in micro-batch mode: drops repeats of an event (same id, same event time) within the
 * watermark, as Spark's {@code dropDuplicates(id, event time)} does, with state whose cost follows the batch, not the
 * state.
 *
 * <p>Spark's de-dup keeps one state row per (id, event time) and, at every batch, tests the watermark on each row of
 * the state (and its in-heap store copies the whole map into each batch's version): at 100k events/s and a one-minute
 * watermark that is 6M rows a batch. Here the state is one value per group of (event-time bucket, slice of the id's
 * hash): the group's (event time, id) pairs ({@link DedupGroup}). A batch reads and writes only the groups its events
 * fall in, and an event-time timer at the bucket's end drops the whole group once the watermark passes it. Events
 * older than the watermark never reach the processor: {@code transformWithState} in event-time mode drops them and
 * counts them in its {@code numRowsDroppedByWatermark}, as Spark's de-dup does. {@code transformWithState} needs the
 * RocksDB store.
 */
public final class OrderedDedup {
  /** The grouping column, dropped from the output. */
  public static final String GROUP = "_dedup_group";

  private OrderedDedup() {}

  /**
   * {@code events} without repeats of ({@code id}, {@code millis}); {@code eventTime} is the watermarked event-time
   * column (from {@code millis}), which the output keeps as its event time. Groups are {@code bucketMs} of event time
   * times {@code slices} of ids.
   */
  public static Dataset<Row> apply(
      Dataset<Row> events, String id, String millis, String eventTime, int slices, long bucketMs) {
    StructType schema = events.schema();
    Dataset<Row> keyed =
        events.withColumn(
            GROUP,
            floor(col(millis).divide(bucketMs))
                .multiply(slices)
                .plus(pmod(hash(col(id)), lit(slices)))
                .cast("long"));
    Processor processor =
        new Processor(schema.fieldIndex(id), schema.fieldIndex(millis), slices, bucketMs);
    StructType rows = keyed.schema();
    return keyed
        .groupBy(col(GROUP))
        .as(Encoders.LONG(), Encoders.row(rows))
        .transformWithState(processor, eventTime, OutputMode.Append(), Encoders.row(rows))
        .drop(GROUP);
  }

  /** The de-dup of one group: its pairs seen so far in one value, and a timer at its bucket's end. */
  static final class Processor extends StatefulProcessor<Long, Row, Row> {
    private static final long serialVersionUID = 1L;
    private final int idIndex;
    private final int millisIndex;
    private final int slices;
    private final long bucketMs;
    private transient ValueState<byte[]> seen;

    Processor(int idIndex, int millisIndex, int slices, long bucketMs) {
      this.idIndex = idIndex;
      this.millisIndex = millisIndex;
      this.slices = slices;
      this.bucketMs = bucketMs;
    }

    @Override
    public void init(OutputMode outputMode, TimeMode timeMode) {
      seen = getHandle().getValueState("seen", Encoders.BINARY(), TTLConfig.NONE());
    }

    @Override
    public Iterator<Row> handleInputRows(Long group, Iterator<Row> rows, TimerValues timerValues) {
      byte[] before = seen.get(); // null for a group without state
      DedupGroup pairs = DedupGroup.read(before);
      List<Row> out = new ArrayList<>();
      while (rows.hasNext()) {
        Row row = rows.next();
        if (pairs.add(row.getLong(millisIndex), row.getString(idIndex))) {
          out.add(row);
        }
      }
      if (!out.isEmpty()) {
        seen.update(pairs.value());
        if (before == null) {
          getHandle().registerTimer((Math.floorDiv(group, (long) slices) + 1) * bucketMs);
        }
      }
      return CollectionConverters.asScala(out.iterator());
    }

    @Override
    public Iterator<Row> handleExpiredTimer(Long group, TimerValues timerValues, ExpiredTimerInfo info) {
      seen.clear();
      return CollectionConverters.asScala(java.util.Collections.<Row>emptyIterator());
    }
  }
}
