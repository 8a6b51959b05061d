package io.logpipeline.spark;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;

import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;

/**
 * Thins an update stream to at most one row per key per interval, in each task: the streaming job's real-time
 * aggregates query updates a window's row for every event, and each row is a ~5 KB record for the broker, the sink
 * and the store. A row whose key was last passed on at least {@code intervalMs} ago passes at once; a newer row of
 * the same key within the interval replaces the held one. Held rows pass as soon as their interval is over and the
 * task sees its next row, and all of them pass when the task's input ends (the end of a real-time batch), so the
 * last row of every key is always written. Rows are full values, so a dropped row is superseded, not lost.
 */
public final class LatestPerKey implements MapPartitionsFunction<Row, Row> {
  private static final long serialVersionUID = 1L;

  private final int[] keys;
  private final long intervalMs;

  private LatestPerKey(int[] keys, long intervalMs) {
    this.keys = keys;
    this.intervalMs = intervalMs;
  }

  /** {@code rows} thinned per key of the comma-separated {@code keyColumns}; same schema. */
  public static Dataset<Row> apply(Dataset<Row> rows, String keyColumns, long intervalMs) {
    if (intervalMs <= 0) {
      throw new IllegalArgumentException("intervalMs must be positive, got " + intervalMs);
    }
    int[] keys = Arrays.stream(keyColumns.split(",")).mapToInt(c -> rows.schema().fieldIndex(c.trim())).toArray();
    return rows.mapPartitions(new LatestPerKey(keys, intervalMs), Encoders.row(rows.schema()));
  }

  @Override
  public Iterator<Row> call(Iterator<Row> input) {
    return new Thinned(input);
  }

  /** A key's state in one task: when it last passed a row, and the newest row held since. */
  private static final class Slot {
    long passedAt;
    Row held;
  }

  private final class Thinned implements Iterator<Row> {
    private final Iterator<Row> input;
    private final Map<List<Object>, Slot> slots = new HashMap<>();
    private final ArrayDeque<Row> out = new ArrayDeque<>();
    private int holding;
    private long nextSweep;

    Thinned(Iterator<Row> input) {
      this.input = input;
    }

    @Override
    public boolean hasNext() {
      while (out.isEmpty() && input.hasNext()) {
        take(input.next(), System.currentTimeMillis());
      }
      if (out.isEmpty() && holding > 0) { // input ended: every held row passes
        long now = System.currentTimeMillis();
        for (Slot slot : slots.values()) {
          release(slot, now);
        }
      }
      return !out.isEmpty();
    }

    @Override
    public Row next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      return out.poll();
    }

    private void take(Row row, long now) {
      Object[] key = new Object[keys.length];
      for (int i = 0; i < keys.length; i++) {
        key[i] = row.get(keys[i]);
      }
      Slot slot = slots.computeIfAbsent(Arrays.asList(key), k -> new Slot());
      if (slot.held == null && now - slot.passedAt >= intervalMs) {
        slot.passedAt = now;
        out.add(row);
      } else {
        if (slot.held == null) {
          holding++;
          nextSweep = Math.min(nextSweep, slot.passedAt + intervalMs);
        }
        slot.held = row;
      }
      if (holding > 0 && now >= nextSweep) {
        sweep(now);
      }
    }

    /** Passes the held rows whose interval is over and forgets keys idle for many intervals. */
    private void sweep(long now) {
      long next = Long.MAX_VALUE;
      List<List<Object>> idle = new ArrayList<>();
      for (Map.Entry<List<Object>, Slot> entry : slots.entrySet()) {
        Slot slot = entry.getValue();
        if (slot.held != null && now - slot.passedAt >= intervalMs) {
          release(slot, now);
        }
        if (slot.held != null) {
          next = Math.min(next, slot.passedAt + intervalMs);
        } else if (now - slot.passedAt >= 100 * intervalMs) {
          idle.add(entry.getKey());
        }
      }
      idle.forEach(slots::remove);
      nextSweep = next;
    }

    private void release(Slot slot, long now) {
      if (slot.held != null) {
        out.add(slot.held);
        slot.held = null;
        slot.passedAt = now;
        holding--;
      }
    }
  }
}
