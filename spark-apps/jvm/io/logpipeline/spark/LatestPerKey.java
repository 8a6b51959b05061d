package io.logpipeline.spark;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.util.TaskCompletionListener;

/**
 * Thins an update stream to at most one row per key per interval, in each task: the streaming job's real-time
 * aggregates query updates a window's row for every event, and each row is a ~5 KB record for the broker, the sink
 * and the store. A row whose key was last passed on at least {@code intervalMs} ago passes at once; a newer row of
 * the same key within the interval replaces the held one. A held row passes as soon as its interval is over, and
 * all of them pass when the task's input ends (the end of a real-time batch), so the last row of every key is always
 * written. Rows are full values, so a dropped row is superseded, not lost.
 */
public final class LatestPerKey implements MapPartitionsFunction<Row, Row> {
  private static final long serialVersionUID = 1L;

  /** The reader's queue: rows waiting to be thinned (a few MB of ~5 KB aggregates at most). */
  private static final int QUEUE = 1024;
  /** What the reader puts after the input's last row. */
  private static final Object END = new Object();

  private final int[] keys;
  private final long intervalMs;

  LatestPerKey(int[] keys, long intervalMs) {
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

  /** Throws {@code failure} as it is (a checked one too): the task fails with the input's own error. */
  @SuppressWarnings("unchecked")
  private static <T extends Throwable> T rethrow(Throwable failure) throws T {
    throw (T) failure;
  }

  /** A key's state in one task: when it last passed a row, and the newest row held since. */
  private static final class Slot {
    long passedAt;
    Row held;
  }

  /**
   * The thinned rows of one task. A reader thread (with the task's context) pulls the input into a bounded queue, so
   * that a held row passes when its interval is over even while no new row arrives.
   */
  private final class Thinned implements Iterator<Row> {
    private final BlockingQueue<Object> arrived = new ArrayBlockingQueue<>(QUEUE);
    private final Map<List<Object>, Slot> slots = new HashMap<>();
    private final ArrayDeque<Row> out = new ArrayDeque<>();
    private int holding;
    private long nextSweep = Long.MAX_VALUE;
    private boolean ended;

    Thinned(Iterator<Row> input) {
      TaskContext task = TaskContext.get();
      Thread reader = new Thread(() -> read(input, task), "latest-per-key-reader");
      reader.setDaemon(true);
      if (task != null) { // a consumer that stops early (task killed or failed) must not leave the reader blocked
        task.addTaskCompletionListener((TaskCompletionListener) done -> reader.interrupt());
      }
      reader.start();
    }

    private void read(Iterator<Row> input, TaskContext task) {
      Object last = END;
      try {
        if (task == null) {
          pull(input);
        } else {
          TaskContext.withTaskContext(task, () -> pull(input));
        }
      } catch (Throwable failure) { // the consumer rethrows it as the task's failure
        last = failure;
      }
      try {
        arrived.put(last);
      } catch (InterruptedException stopped) {
        Thread.currentThread().interrupt(); // the task is over: nobody reads the queue any more
      }
    }

    private Object pull(Iterator<Row> input) {
      try {
        while (input.hasNext()) {
          arrived.put(input.next());
        }
      } catch (InterruptedException stopped) {
        throw new IllegalStateException("input reader interrupted: the task ended", stopped);
      }
      return null;
    }

    @Override
    public boolean hasNext() {
      while (out.isEmpty() && !ended) {
        long wait = holding > 0 ? Math.max(0L, nextSweep - System.currentTimeMillis()) : -1L;
        Object item;
        try {
          item = wait < 0 ? arrived.take() : arrived.poll(wait, TimeUnit.MILLISECONDS);
        } catch (InterruptedException killed) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("interrupted while waiting for input: the task was killed", killed);
        }
        long now = System.currentTimeMillis();
        if (item == null) {
          sweep(now);
        } else if (item == END) { // input ended: every held row passes
          ended = true;
          for (Slot slot : slots.values()) {
            release(slot, now);
          }
        } else if (item instanceof Throwable failure) {
          ended = true;
          throw LatestPerKey.<RuntimeException>rethrow(failure);
        } else {
          take((Row) item, now);
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
