package io.logpipeline.spark;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Set;

import org.apache.spark.unsafe.types.UTF8String;

/**
 * The plainest event records read straight from their bytes, without a JSON parser: one object whose names and
 * strings have no escape, whose numbers are integers of at most 18 digits or decimals, and whose event fields are
 * strings, numbers, {@code true}, {@code false} or {@code null}. That is what producers write, and reading it needs
 * no more than a pass over the bytes: no tokens, no character buffers, and each string field a view of the record's
 * own bytes. Objects and arrays are passed over in fields that are not the event's. Anything else (an escape, a
 * non-ASCII byte, a longer integer, a malformed record) is {@link #UNSURE}: the record goes to the parser-based
 * reading of {@link EventRules}, which decides it as before. What the scan decides, that reading decides alike; a
 * unit test holds them to it.
 */
final class FlatScan {
  /** The scan's answer when it cannot decide the record. */
  static final Object[] UNSURE = new Object[0];
  /** A known field's value when it is a JSON null: the field is absent. */
  private static final Object JSON_NULL = new Object();
  /** A JSON integer with more digits may not fit a long: Jackson's reading decides it. */
  private static final int MAX_DIGITS = 18;
  /** Longer names and numbers go to Jackson's reading, which has limits of its own (StreamReadConstraints). */
  private static final int MAX_NAME = 256;
  private static final int MAX_NUMBER = 64;
  private static final int MAX_DEPTH = 32;

  /** Powers of ten a double holds exactly: a decimal of at most 15 digits is its digits over one, rounded once. */
  private static final double[] POWERS = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13,
      1e14, 1e15};
  private static final int EXACT_DIGITS = 15;
  private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

  private final byte[] b;
  private final EventRules.Rule[] rules;
  private final byte[][] names;
  private final int[] slots;
  private int at;
  // the last number read: its value when an integer, whether it had a fraction or exponent, and its span
  private long integer;
  private boolean decimal;
  // a decimal without exponent of at most EXACT_DIGITS digits: its digits as one integer, and how many are decimals
  private long mantissa;
  private int decimals;
  private boolean exact;
  private int from;
  // where the last name read ends (its closing quote)
  private int nameEnd;

  private FlatScan(byte[] bytes, EventRules.Rule[] rules, byte[][] names, int[] slots) {
    this.b = bytes;
    this.rules = rules;
    this.names = names;
    this.slots = slots;
  }

  /** The lookup table of field names {@code names}: each name's index + 1 at its hash's slot or the next free one. */
  static int[] slots(byte[][] names) {
    int[] slots = new int[Integer.highestOneBit(Math.max(names.length, 4) * 4)];
    for (int i = 0; i < names.length; i++) {
      int slot = hash(names[i], 0, names[i].length) & (slots.length - 1);
      while (slots[slot] != 0) {
        slot = (slot + 1) & (slots.length - 1);
      }
      slots[slot] = i + 1;
    }
    return slots;
  }

  private static int hash(byte[] bytes, int start, int end) {
    return end == start ? 0 : (end - start) * 31 + bytes[start] * 7 + bytes[end - 1] + bytes[(start + end) >>> 1] * 131;
  }

  /**
   * The fields of the record {@code bytes} by {@code rules} (whose names, as bytes, are {@code names}): the
   * verdict's array with each field read, null when the record is plainly not a valid event, or {@link #UNSURE}.
   * {@code slots} is their lookup table ({@link #slots}); {@code folded} says whether an unknown name is a field's in
   * another case (such a record is not plain).
   */
  static Object[] read(byte[] bytes, EventRules.Rule[] rules, byte[][] names, int[] slots, Set<String> folded) {
    return new FlatScan(bytes, rules, names, slots).object(folded);
  }

  private Object[] object(Set<String> folded) {
    Object[] out = new Object[1 + rules.length];
    boolean[] seen = new boolean[rules.length];
    if (next() != '{') {
      return UNSURE;
    }
    at++;
    int c = next();
    if (c == '}') {
      return end(out);
    }
    while (true) {
      int start = at + 1;
      if (c != '"' || !name()) {
        return UNSURE;
      }
      int field = field(start, nameEnd);
      c = next();
      if (field < 0) {
        if (folded.contains(new String(b, start, nameEnd - start, StandardCharsets.US_ASCII).toLowerCase(Locale.ROOT))) {
          return null; // the name of a field in another case: the Spark path names it
        }
        if (!skip(c, 0)) {
          return UNSURE;
        }
      } else {
        if (seen[field]) {
          return null;
        }
        seen[field] = true;
        Object value = value(rules[field], c);
        if (value == UNSURE) {
          return UNSURE;
        }
        if (value == null) {
          return null; // not plainly valid
        }
        out[1 + field] = value == JSON_NULL ? null : value;
      }
      c = next();
      if (c == '}') {
        return end(out);
      }
      if (c != ',') {
        return UNSURE;
      }
      at++;
      c = next();
    }
  }

  /**
   * Past a name from its opening quote, and past the colon after it; false when it is not a plain name or no colon
   * follows. The name ends at {@link #nameEnd}.
   */
  private boolean name() {
    int start = ++at;
    if (!string() || at - 1 - start > MAX_NAME) {
      return false;
    }
    nameEnd = at - 1;
    if (next() != ':') {
      return false;
    }
    at++;
    return true;
  }

  /** After the object's closing brace: nothing but whitespace. */
  private Object[] end(Object[] out) {
    at++;
    return next() == -1 ? out : UNSURE;
  }

  /** The index of the field named by bytes {@code [start, end)}, or -1. */
  private int field(int start, int end) {
    int length = end - start;
    for (int slot = hash(b, start, end) & (slots.length - 1); slots[slot] != 0; slot = (slot + 1) & (slots.length - 1)) {
      if (sameBytes(names[slots[slot] - 1], start, length)) {
        return slots[slot] - 1;
      }
    }
    return -1;
  }

  /** Whether bytes {@code [start, start + length)} are {@code name} (short: a loop, not a vectorized compare). */
  private boolean sameBytes(byte[] name, int start, int length) {
    if (name.length != length) {
      return false;
    }
    for (int i = 0; i < length; i++) {
      if (b[start + i] != name[i]) {
        return false;
      }
    }
    return true;
  }

  /**
   * Past a string's closing quote from its first character; false on an escape, a control or non-ASCII byte, or no
   * end. Eight bytes at a time while none of them can be one of those or the quote.
   */
  private boolean string() {
    for (; at + Long.BYTES <= b.length; at += Long.BYTES) {
      long x = (long) LONGS.get(b, at);
      long quote = x ^ 0x2222222222222222L;
      long escape = x ^ 0x5C5C5C5C5C5C5C5CL;
      long special = ((x - 0x2020202020202020L) | (quote - 0x0101010101010101L) | (escape - 0x0101010101010101L)
          | x) & 0x8080808080808080L;
      if (special != 0) { // one of these bytes may be special (a borrow may flag a byte after it): byte by byte
        break;
      }
    }
    for (; at < b.length; at++) {
      byte c = b[at];
      if (c == '"') {
        at++;
        return true;
      }
      if (c == '\\' || c < 0x20) {
        return false;
      }
    }
    return false;
  }

  /**
   * Past an unknown field's value starting with {@code c}, objects and arrays included (at most {@link #MAX_DEPTH}
   * deep); false when it is not a plain value.
   */
  private boolean skip(int c, int depth) {
    if (c == '"') {
      at++;
      return string();
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      return number();
    }
    if (c != '{' && c != '[') {
      return literal(c) != 0;
    }
    int close = c == '{' ? '}' : ']';
    if (depth >= MAX_DEPTH) {
      return false;
    }
    at++;
    int d = next();
    if (d == close) {
      at++;
      return true;
    }
    while (true) {
      if (close == '}') { // a name and its colon first
        if (d != '"' || !name()) {
          return false;
        }
        d = next();
      }
      if (!skip(d, depth + 1)) {
        return false;
      }
      d = next();
      if (d == close) {
        at++;
        return true;
      }
      if (d != ',') {
        return false;
      }
      at++;
      d = next();
    }
  }

  /**
   * A known field's value starting with {@code c}: as {@code Rule.read} gives it, null when not plainly valid,
   * {@link #JSON_NULL} for a JSON null, {@link #UNSURE} when it is not a plain value.
   */
  private Object value(EventRules.Rule rule, int c) {
    if (c == '"') {
      int start = ++at;
      if (!string()) {
        return UNSURE;
      }
      int length = at - 1 - start;
      return rule.kind == 's' ? rule.text(UTF8String.fromBytes(b, start, length), length) : null;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      if (!number()) {
        return UNSURE;
      }
      return switch (rule.kind) {
        case 's' -> decimal || isNegativeZero() ? null : rule.text(UTF8String.fromBytes(b, from, at - from), at - from);
        case 'd' -> rule.number(decimal ? decimal() : (double) integer);
        default -> decimal ? null : rule.integer(integer);
      };
    }
    int literal = literal(c);
    if (literal == 0) {
      return UNSURE;
    }
    return literal == 'n' ? JSON_NULL : null;
  }

  /** The last number read, a decimal, as {@code Double.parseDouble} reads it. */
  private double decimal() {
    if (!exact) {
      return Double.parseDouble(new String(b, from, at - from, StandardCharsets.US_ASCII));
    }
    double value = mantissa / POWERS[decimals]; // both exact: the quotient is rounded once, as parseDouble rounds
    return b[from] == '-' ? -value : value;
  }

  private boolean isNegativeZero() {
    return at - from == 2 && b[from] == '-' && b[from + 1] == '0';
  }

  /**
   * Past a JSON number: an integer of at most {@link #MAX_DIGITS} digits (its value in {@link #integer}) or a decimal
   * ({@link #decimal}); false for anything else, which Jackson's reading decides.
   */
  private boolean number() {
    from = at;
    boolean negative = b[at] == '-';
    if (negative) {
      at++;
    }
    int digits = 0;
    long value = 0;
    while (at < b.length && b[at] >= '0' && b[at] <= '9') {
      value = value * 10 + (b[at++] - '0');
      digits++;
    }
    if (digits == 0 || digits > MAX_DIGITS || (digits > 1 && b[at - digits] == '0')) {
      return false;
    }
    integer = negative ? -value : value;
    decimal = false;
    exact = false;
    if (at < b.length && b[at] == '.') {
      at++;
      int start = at;
      decimals = digitsFrom();
      if (decimals == 0) {
        return false;
      }
      decimal = true;
      exact = digits + decimals <= EXACT_DIGITS;
      if (exact) {
        mantissa = value;
        for (int i = start; i < at; i++) {
          mantissa = mantissa * 10 + (b[i] - '0');
        }
      }
    }
    if (at < b.length && (b[at] == 'e' || b[at] == 'E')) {
      at++;
      if (at < b.length && (b[at] == '+' || b[at] == '-')) {
        at++;
      }
      if (digitsFrom() == 0) {
        return false;
      }
      decimal = true;
      exact = false;
    }
    return at - from <= MAX_NUMBER;
  }

  private int digitsFrom() {
    int start = at;
    while (at < b.length && b[at] >= '0' && b[at] <= '9') {
      at++;
    }
    return at - start;
  }

  /** Past {@code true}, {@code false} or {@code null} starting with {@code c}: its first letter, else 0. */
  private int literal(int c) {
    String word = c == 't' ? "true" : c == 'f' ? "false" : c == 'n' ? "null" : null;
    if (word == null || at + word.length() > b.length) {
      return 0;
    }
    for (int i = 0; i < word.length(); i++) {
      if (b[at + i] != word.charAt(i)) {
        return 0;
      }
    }
    at += word.length();
    return c;
  }

  /** The next byte that is not JSON whitespace (not consumed), or -1 at the end. */
  private int next() {
    while (at < b.length) {
      byte c = b[at];
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
        return c;
      }
      at++;
    }
    return -1;
  }
}
