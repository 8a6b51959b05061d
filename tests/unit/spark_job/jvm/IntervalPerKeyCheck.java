package io.logpipeline.spark;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;

import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;

/**
 * Drives {@link IntervalPerKey} (keeping each key's newest row) with an input that pauses, as a real-time task's input does between events, and prints
 * what happened in order, one line each: {@code out <key>:<version>}, {@code input ended}, {@code failed <class>}.
 * Usage: {@code IntervalPerKeyCheck <interval ms> <pause ms> <versions> <end|fail>}.
 */
public final class IntervalPerKeyCheck {
  private IntervalPerKeyCheck() {}

  /** Holds a key's newest row. */
  private static final class Newest implements IntervalPerKey.Combiner<Row> {
    private static final long serialVersionUID = 1L;

    @Override
    public Row start(Row row) {
      return row;
    }

    @Override
    public Row add(Row held, Row row) {
      return row;
    }

    @Override
    public Row finish(Row held) {
      return held;
    }
  }

  public static void main(String[] args) {
    long interval = Long.parseLong(args[0]);
    long pause = Long.parseLong(args[1]);
    int versions = Integer.parseInt(args[2]);
    boolean fail = args[3].equals("fail");
    List<String> seen = Collections.synchronizedList(new ArrayList<>());
    Iterator<Row> input = new Iterator<>() {
      private int sent;

      @Override
      public boolean hasNext() {
        if (sent < versions) {
          return true;
        }
        try {
          Thread.sleep(pause); // no new row for a while
        } catch (InterruptedException e) {
          throw new IllegalStateException(e);
        }
        if (fail) {
          throw new UnsupportedOperationException("the input failed");
        }
        seen.add("input ended");
        return false;
      }

      @Override
      public Row next() {
        return RowFactory.create("k", sent++);
      }
    };
    try {
      Iterator<Row> out = new IntervalPerKey(new int[] {0}, interval, new Newest()).call(input);
      while (out.hasNext()) {
        Row row = out.next();
        seen.add("out " + row.get(0) + ":" + row.get(1));
      }
    } catch (RuntimeException failure) {
      seen.add("failed " + failure.getClass().getName());
    }
    seen.forEach(System.out::println);
  }
}
