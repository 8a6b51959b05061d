package io.logpipeline.spark;

import java.io.Serializable;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;

import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.util.TaskCompletionListener;

/**
 * Passes at most one row per key per interval, in each task, with the key's rows in between combined
 * ({@link Combiner}): the real-time aggregates query's partial window totals ({@link PartialWindows}), so that its
 * stateful aggregation merges a key's events a few times a second instead of once per event. A key whose last row
 * passed at least {@code intervalMs} ago passes its row at once; a key's later rows within the interval are combined
 * and held. A held row passes as soon as its interval is over, and all of them pass when the task's input ends (the
 * end of a real-time batch), so every row's contribution is passed on.
 */
public final class IntervalPerKey implements MapPartitionsFunction<Row, Row> {
  private static final long serialVersionUID = 1L;

  /** The most rows waiting to be combined: the reader waits while as many are. */
  private static final int QUEUE = 4096;
  /** Rows that wake a consumer lingering for more, and how long it lingers at most. */
  private static final int CHUNK = 256;
  private static final long LINGER_MS = 1;
  /** What the reader puts after the input's last row. */
  private static final Object END = new Object();

  /** How a key's rows combine while it waits for its interval; {@code P} is what is held. */
  public interface Combiner<P> extends Serializable {
    /** What is held for a key from its first row. */
    P start(Row row);

    /** {@code held} with one more row of its key (may update {@code held} and return it). */
    P add(P held, Row row);

    /** The row passed for what was held. */
    Row finish(P held);
  }

  private final int[] keys;
  private final long intervalMs;
  private final Combiner<Object> combiner;

  /** Combines the rows of each key of the columns {@code keys} with {@code combiner}. */
  @SuppressWarnings("unchecked")
  public IntervalPerKey(int[] keys, long intervalMs, Combiner<?> combiner) {
    if (intervalMs <= 0) {
      throw new IllegalArgumentException("intervalMs must be positive, got " + intervalMs);
    }
    this.keys = keys.clone();
    this.intervalMs = intervalMs;
    this.combiner = (Combiner<Object>) combiner;
  }

  @Override
  public Iterator<Row> call(Iterator<Row> input) {
    return new Combined(input);
  }

  /** Throws {@code failure} as it is (a checked one too): the task fails with the input's own error. */
  @SuppressWarnings("unchecked")
  private static <T extends Throwable> T rethrow(Throwable failure) throws T {
    throw (T) failure;
  }

  /**
   * Rows handed from the reader to the consumer in chunks: the consumer takes all that arrived at once, and the
   * reader wakes it only when it waits (a hand-off per row, each waking the other thread, had cost more than the
   * combining at 100k events/s).
   */
  private static final class Inbox {
    private ArrayList<Object> items = new ArrayList<>();
    private boolean consumerWaits;
    private boolean consumerLingers;
    private boolean readerWaits;

    /** Hands on a row, or ({@code last}) the input's end or failure. */
    synchronized void put(Object item, boolean last) throws InterruptedException {
      while (items.size() >= QUEUE) {
        readerWaits = true;
        wait();
      }
      items.add(item);
      if (consumerWaits || consumerLingers && (last || items.size() >= CHUNK)) {
        consumerWaits = false;
        consumerLingers = false;
        notifyAll();
      }
    }

    /** All that arrived, after waiting up to {@code waitMs} (forever if negative) for some; none if none came. */
    synchronized List<Object> takeAll(long waitMs) throws InterruptedException {
      long deadline = System.currentTimeMillis() + waitMs;
      while (items.isEmpty()) {
        long left = waitMs < 0 ? 0L : deadline - System.currentTimeMillis();
        if (waitMs >= 0 && left <= 0) {
          return List.of();
        }
        consumerWaits = true;
        wait(left); // 0: until woken
      }
      consumerWaits = false;
      // woken by a few rows: a moment more for others, so that a wake-up takes many (one per row cost a context
      // switch each, a quarter of the events/s on a backlog)
      long until = System.currentTimeMillis() + LINGER_MS;
      for (long left = LINGER_MS; items.size() < CHUNK && left > 0; left = until - System.currentTimeMillis()) {
        consumerLingers = true;
        wait(left);
      }
      consumerLingers = false;
      List<Object> taken = items;
      items = new ArrayList<>();
      if (readerWaits) {
        readerWaits = false;
        notifyAll();
      }
      return taken;
    }
  }

  /** A key's state in one task: when it last passed a row, and what is held since. */
  private static final class Slot {
    long passedAt;
    Object held;
  }

  /**
   * The combined rows of one task. A reader thread (with the task's context) pulls the input into a bounded inbox, so
   * that a held row passes when its interval is over even while no new row arrives.
   */
  private final class Combined implements Iterator<Row> {
    private final Inbox arrived = new Inbox();
    private final Map<List<Object>, Slot> slots = new HashMap<>();
    private final ArrayDeque<Row> out = new ArrayDeque<>();
    private int holding;
    private long nextSweep = Long.MAX_VALUE;
    private boolean ended;
    private Throwable failure; // the input's, thrown once the rows due before it have passed

    Combined(Iterator<Row> input) {
      TaskContext task = TaskContext.get();
      Thread reader = new Thread(() -> read(input, task), "interval-per-key-reader");
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
        arrived.put(last, true);
      } catch (InterruptedException stopped) {
        Thread.currentThread().interrupt(); // the task is over: nobody reads the queue any more
      }
    }

    private Object pull(Iterator<Row> input) {
      try {
        while (input.hasNext()) {
          arrived.put(input.next(), false);
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
        List<Object> items;
        try {
          items = arrived.takeAll(wait);
        } catch (InterruptedException killed) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("interrupted while waiting for input: the task was killed", killed);
        }
        long now = System.currentTimeMillis();
        if (items.isEmpty()) {
          sweep(now);
        }
        for (Object item : items) {
          if (item == END) { // input ended: every held row passes
            ended = true;
            for (Slot slot : slots.values()) {
              release(slot, now);
            }
          } else if (item instanceof Throwable thrown) {
            ended = true;
            failure = thrown;
          } else {
            take((Row) item, now);
          }
        }
      }
      if (out.isEmpty() && failure != null) {
        throw IntervalPerKey.<RuntimeException>rethrow(failure);
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
        out.add(combiner.finish(combiner.start(row)));
      } else {
        if (slot.held == null) {
          holding++;
          nextSweep = Math.min(nextSweep, slot.passedAt + intervalMs);
          slot.held = combiner.start(row);
        } else {
          slot.held = combiner.add(slot.held, row);
        }
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
        out.add(combiner.finish(slot.held));
        slot.held = null;
        slot.passedAt = now;
        holding--;
      }
    }
  }
}
