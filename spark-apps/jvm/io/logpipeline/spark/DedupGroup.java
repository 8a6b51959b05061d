package io.logpipeline.spark;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

/**
 * One group of the ordered de-dup ({@link OrderedDedup}): the (event time, id) pairs it has seen, read from its state
 * value, and the value with a batch's new pairs appended.
 *
 * <p>The value's layout is {@link DataOutputStream}'s: the pair count as an int, then each pair's event time as a
 * long, whether it has an id as a boolean, and the id in modified UTF-8 behind its two-byte length ({@code writeUTF}).
 * Ids of ASCII characters other than NUL, as events' ids are, are that encoding's bytes themselves: they are copied
 * in and out without {@code writeUTF}'s and {@code readUTF}'s character loops, and every other id takes those. A
 * batch appends its new pairs to the value's bytes and rewrites only the count: the pairs already there are not
 * written again.
 */
public final class DedupGroup {
  private static final VarHandle INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.BIG_ENDIAN);
  private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);
  private static final int PAIR_BYTES = 8 + 1 + 2 + 40; // a pair with a 40-byte id

  /** One event's key. */
  private record Seen(long millis, String id) {}

  private final Set<Seen> seen;
  private byte[] bytes; // the value: the pairs read, then those added
  private int length;
  private int count;

  private DedupGroup(byte[] before) {
    bytes = before == null ? new byte[4 + 64 * PAIR_BYTES] : Arrays.copyOf(before, before.length + 64 * PAIR_BYTES);
    length = before == null ? 4 : before.length;
    count = before == null ? 0 : (int) INT.get(bytes, 0);
    seen = new HashSet<>(Math.max(16, count * 2));
    decode(bytes, count, seen::add);
  }

  /** The group of a state value ({@code null}: a group without one). */
  public static DedupGroup read(byte[] before) {
    return new DedupGroup(before);
  }

  /** Whether ({@code millis}, {@code id}) is new to the group; if so, it is added. */
  public boolean add(long millis, String id) {
    if (!seen.add(new Seen(millis, id))) {
      return false;
    }
    count++;
    ensure(8 + 1);
    LONG.set(bytes, length, millis);
    length += 8;
    bytes[length++] = (byte) (id == null ? 0 : 1);
    if (id != null) {
      writeId(id);
    }
    return true;
  }

  /** The group's value: every pair it holds. */
  public byte[] value() {
    INT.set(bytes, 0, count);
    return Arrays.copyOf(bytes, length);
  }

  /** The (event time, id) pairs of a value, in its order, as {@code millis:id} ({@code millis:} for no id). */
  public static String[] pairs(byte[] value) {
    List<String> out = new ArrayList<>();
    decode(value, (int) INT.get(value, 0), pair -> out.add(pair.millis() + ":" + (pair.id() == null ? "" : pair.id())));
    return out.toArray(new String[0]);
  }

  /** Each of the first {@code count} pairs of {@code value}, in order, to {@code to}. */
  private static void decode(byte[] value, int count, Consumer<Seen> to) {
    int at = 4;
    for (int i = 0; i < count; i++) {
      long millis = (long) LONG.get(value, at);
      at += 8;
      String id = null;
      if (value[at++] != 0) {
        int n = ((value[at] & 0xff) << 8) | (value[at + 1] & 0xff);
        id = plain(value, at + 2, n) ? new String(value, at + 2, n, StandardCharsets.ISO_8859_1) : readUtf(value, at);
        at += 2 + n;
      }
      to.accept(new Seen(millis, id));
    }
  }

  private void writeId(String id) {
    int n = id.length();
    if (n <= 0xffff) {
      ensure(2 + n);
      int i = 0;
      while (i < n) { // each char of ASCII but NUL is its own byte
        char c = id.charAt(i);
        if (c == 0 || c >= 0x80) {
          break;
        }
        bytes[length + 2 + i++] = (byte) c;
      }
      if (i == n) {
        bytes[length] = (byte) (n >>> 8);
        bytes[length + 1] = (byte) n;
        length += 2 + n;
        return;
      }
    }
    ByteArrayOutputStream utf = new ByteArrayOutputStream(2 + 3 * n);
    try (DataOutputStream out = new DataOutputStream(utf)) {
      out.writeUTF(id);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    ensure(utf.size());
    System.arraycopy(utf.toByteArray(), 0, bytes, length, utf.size());
    length += utf.size();
  }

  private void ensure(int more) {
    if (length + more > bytes.length) {
      bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, length + more));
    }
  }

  private static String readUtf(byte[] value, int at) {
    int n = ((value[at] & 0xff) << 8) | (value[at + 1] & 0xff);
    try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(value, at, 2 + n))) {
      return in.readUTF();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Whether modified UTF-8 bytes are all ASCII other than NUL: one character each. */
  private static boolean plain(byte[] value, int from, int n) {
    for (int i = from; i < from + n; i++) {
      if (value[i] <= 0) {
        return false;
      }
    }
    return true;
  }
}
