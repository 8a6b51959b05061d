package io.logpipeline.spark;

import java.io.IOException;
import java.io.Serializable;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.charset.StandardCharsets;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Locale;
import java.util.Objects;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.unsafe.types.UTF8String;

/**
 * The rule of the events' fast path ({@link CleanEvents}): what makes a record's bytes plainly a valid event, and that
 * event's typed fields in Spark's internal types. "Plainly valid" is narrow on purpose, so that the fast path and the
 * Spark expressions of the job's parse can never disagree: ASCII bytes (no character decoding, no byte-order
 * guesswork), one standard JSON object and nothing after it, each event field at most once and of its exact JSON type
 * (a string, or an integer as its text, for a string field, an integer for an integer field, a number for a number
 * field, an epoch in milliseconds for the event time), no name that differs from a field's only in case, every bound of
 * the field table met, required fields present, and the event time no further ahead of the record's Kafka timestamp
 * than allowed. Such a record needs no repair, so its fields are the values the Spark parse gives it. The plainest
 * records are read by a pass over their bytes ({@link FlatScan}); the others with Jackson's streaming parser.
 */
public final class EventRules implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Standard JSON only: Spark's reader accepts more (single quotes, NaN), which goes to its path. */
  private static final JsonFactory JSON = new JsonFactory();
  private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
  /** The bounds of an epoch in milliseconds in the job's timestamp rule; outside them the Spark path converts. */
  private static final long EPOCH_MS_FROM = 100_000_000_000L;
  private static final long EPOCH_MS_BELOW = 100_000_000_000_000L;
  /** No Kafka timestamp: never plainly valid. */
  static final long NO_ARRIVAL = Long.MIN_VALUE;

  /** One event field's rule, from the field table the job passes as JSON. */
  static final class Rule implements Serializable {
    private static final long serialVersionUID = 1L;
    final String name;
    final char kind; // s string, i int, l long, d double, t epoch ms
    final boolean required;
    final double minimum;
    final double maximum;
    final int maxLength;
    final UTF8String[] allowed; // an enum's few values: compared in turn, no hash of the text

    Rule(JsonNode spec) {
      name = spec.get("name").asText();
      String type = spec.get("type").asText();
      kind = "epoch_ms".equals(spec.path("repair").asText()) ? 't' : kindOf(type);
      required = spec.path("required").asBoolean(true);
      minimum = spec.path("minimum").isNumber() ? spec.get("minimum").asDouble() : Double.NEGATIVE_INFINITY;
      maximum = spec.path("maximum").isNumber() ? spec.get("maximum").asDouble() : Double.POSITIVE_INFINITY;
      maxLength = spec.path("max_length").isNumber() ? spec.get("max_length").asInt() : -1;
      if (spec.path("enum").isArray()) {
        allowed = new UTF8String[spec.get("enum").size()];
        for (int i = 0; i < allowed.length; i++) {
          allowed[i] = UTF8String.fromString(spec.get("enum").get(i).asText());
        }
      } else {
        allowed = null;
      }
    }

    private static char kindOf(String type) {
      return switch (type) {
        case "string" -> 's';
        case "int" -> 'i';
        case "long" -> 'l';
        case "double" -> 'd';
        default -> throw new IllegalArgumentException("field type must be string, int, long or double, got " + type);
      };
    }

    DataType sparkType() {
      return switch (kind) {
        case 's' -> DataTypes.StringType;
        case 'i' -> DataTypes.IntegerType;
        case 'd' -> DataTypes.DoubleType;
        default -> DataTypes.LongType;
      };
    }

    /** The value at the parser's current token when it is plainly valid for this field, else null. */
    Object read(JsonParser p, JsonToken token) throws IOException {
      switch (kind) {
        case 's': {
          if (token == JsonToken.VALUE_STRING) {
            UTF8String text = asciiText(p);
            if (text != null) {
              return text(text, text.numBytes()); // one character per byte
            }
            String decoded = p.getText(); // an escaped non-ASCII character
            return text(UTF8String.fromString(decoded), decoded.codePointCount(0, decoded.length()));
          }
          return token == JsonToken.VALUE_NUMBER_INT && canonicalInteger(p)
              ? text(UTF8String.fromString(p.getText()), p.getTextLength())
              : null;
        }
        case 'd': {
          boolean number = token == JsonToken.VALUE_NUMBER_FLOAT
              || (token == JsonToken.VALUE_NUMBER_INT && p.getNumberType() != JsonParser.NumberType.BIG_INTEGER);
          return number ? number(p.getDoubleValue()) : null;
        }
        default: {
          if (token != JsonToken.VALUE_NUMBER_INT) {
            return null;
          }
          JsonParser.NumberType type = p.getNumberType();
          boolean fits = type == JsonParser.NumberType.INT || type == JsonParser.NumberType.LONG;
          return fits ? integer(p.getLongValue()) : null;
        }
      }
    }

    /** A string field's value, of {@code length} characters, when it meets the field's bounds, else null. */
    Object text(UTF8String text, int length) {
      boolean ok = (maxLength < 0 || length <= maxLength)
          && (allowed == null || isAllowed(text))
          && !(required && length == 0);
      return ok ? text : null;
    }

    private boolean isAllowed(UTF8String text) {
      for (UTF8String value : allowed) {
        if (value.equals(text)) {
          return true;
        }
      }
      return false;
    }

    /** A number field's value (a JSON number of either kind), when finite and within the field's bounds, else null. */
    Object number(double value) {
      return Double.isFinite(value) && value >= minimum && value <= maximum ? value : null;
    }

    /** An integer or event-time field's value (a JSON integer within a long), when plainly valid, else null. */
    Object integer(long value) {
      if (kind == 'i' && (value < Integer.MIN_VALUE || value > Integer.MAX_VALUE)) {
        return null;
      }
      if (kind == 't' && (value < EPOCH_MS_FROM || value >= EPOCH_MS_BELOW)) {
        return null;
      }
      if (value < minimum || value > maximum) {
        return null;
      }
      return kind == 'i' ? (Object) (int) value : (Object) value;
    }

    /** A string token as UTF-8 bytes, without a {@code String} between, when all its characters are ASCII. */
    private static UTF8String asciiText(JsonParser p) throws IOException {
      char[] chars = p.getTextCharacters();
      int from = p.getTextOffset();
      byte[] bytes = new byte[p.getTextLength()];
      for (int i = 0; i < bytes.length; i++) {
        char c = chars[from + i];
        if (c >= 0x80) {
          return null;
        }
        bytes[i] = (byte) c;
      }
      return UTF8String.fromBytes(bytes);
    }

    /**
     * An integer in a string field becomes its JSON text (the original producer's {@code response_code}); only an
     * integer written as Java writes it (no {@code -0}), whichever of the token and its value Spark copies.
     */
    private static boolean canonicalInteger(JsonParser p) throws IOException {
      JsonParser.NumberType type = p.getNumberType();
      boolean fits = type == JsonParser.NumberType.INT || type == JsonParser.NumberType.LONG;
      return fits && p.getText().equals(Long.toString(p.getLongValue()));
    }
  }

  private final String table;
  private final Rule[] rules;
  private final int eventTimeAt;
  private final long maxAheadMs;
  private final HashMap<String, Integer> index = new HashMap<>();
  private final HashSet<String> folded = new HashSet<>();
  private final byte[][] names;
  private final int[] slots;
  /** The verdict of a record that is not plainly valid: {@code _clean} false, no field. */
  private final GenericInternalRow notClean;

  /**
   * The rule of {@code table}, a JSON array of the field table's entries (name, type, required, minimum, maximum,
   * max_length, enum, repair), with events at most {@code maxAheadMs} ahead of their record's timestamp.
   */
  public EventRules(String table, long maxAheadMs) throws IOException {
    this.table = table;
    this.maxAheadMs = maxAheadMs;
    JsonNode specs = new ObjectMapper().readTree(table);
    rules = new Rule[specs.size()];
    names = new byte[rules.length][];
    int at = -1;
    for (int i = 0; i < rules.length; i++) {
      rules[i] = new Rule(specs.get(i));
      index.put(rules[i].name, i);
      names[i] = rules[i].name.getBytes(StandardCharsets.UTF_8);
      folded.add(rules[i].name.toLowerCase(Locale.ROOT));
      if (rules[i].kind == 't') {
        at = i;
      }
    }
    if (at < 0) {
      throw new IllegalArgumentException("the field table has no event time (a field with repair epoch_ms)");
    }
    eventTimeAt = at;
    slots = FlatScan.slots(names);
    folded.add("_corrupt_record");
    Object[] none = new Object[1 + rules.length];
    none[0] = false;
    notClean = new GenericInternalRow(none);
  }

  /** The verdict's type: {@code clean} (boolean), then each field as {@code prefix + name}, null unless clean. */
  StructType schema(String clean, String prefix) {
    StructType out = new StructType().add(clean, DataTypes.BooleanType, false);
    for (Rule rule : rules) {
      out = out.add(prefix + rule.name, rule.sparkType(), true);
    }
    return out;
  }

  /**
   * The verdict on a record ({@link #schema}): its typed fields when its bytes are plainly a valid event, its Kafka
   * timestamp {@code arrivalMicros} (epoch microseconds, {@link #NO_ARRIVAL} when absent).
   */
  public InternalRow verdict(byte[] value, long arrivalMicros) {
    return verdict(value, arrivalMicros, true);
  }

  /**
   * The verdict with the scan ({@link FlatScan}) or, {@code scan} false, with Jackson's parser alone: the reference
   * the scan is held to in tests.
   */
  public InternalRow verdict(byte[] value, long arrivalMicros, boolean scan) {
    Object[] fields = fields(value, arrivalMicros, scan);
    return fields == null ? notClean : new GenericInternalRow(fields);
  }

  /** Whether the scan decides {@code value} (a record it leaves undecided is read with Jackson's parser). */
  public boolean scanned(byte[] value) {
    return value != null && FlatScan.read(value, rules, names, slots, folded) != FlatScan.UNSURE;
  }

  private Object[] fields(byte[] value, long arrivalMicros, boolean scan) {
    if (value == null || arrivalMicros == NO_ARRIVAL) {
      return null;
    }
    // the scan decides only records whose every byte it read as ASCII; the parser is given no other
    Object[] out = scan ? FlatScan.read(value, rules, names, slots, folded) : FlatScan.UNSURE;
    if (out == FlatScan.UNSURE) {
      out = ascii(value) ? parsed(value) : null;
    }
    if (out == null) {
      return null;
    }
    for (int i = 0; i < rules.length; i++) {
      if (rules[i].required && out[1 + i] == null) {
        return null;
      }
    }
    long arrivalMs = Math.floorDiv(arrivalMicros, 1000L);
    if (!(out[1 + eventTimeAt] instanceof Long eventMs && eventMs - arrivalMs <= maxAheadMs)) {
      return null;
    }
    out[0] = true;
    return out;
  }

  /** The record's fields read with Jackson's parser ({@link FlatScan} decides the plainest records without it). */
  private Object[] parsed(byte[] value) {
    Object[] out = new Object[1 + rules.length];
    boolean[] seen = new boolean[rules.length];
    try (JsonParser p = JSON.createParser(value)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        return null;
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken token = p.nextToken();
        Integer at = index.get(name);
        if (at == null) {
          if (folded.contains(name.toLowerCase(Locale.ROOT))) {
            return null;
          }
          p.skipChildren();
          continue;
        }
        if (seen[at]) {
          return null;
        }
        seen[at] = true;
        if (token == JsonToken.VALUE_NULL) {
          continue;
        }
        Object typed = rules[at].read(p, token);
        if (typed == null) {
          return null;
        }
        out[1 + at] = typed;
      }
      if (p.nextToken() != null) {
        return null;
      }
    } catch (IOException | RuntimeException notPlain) { // not plain JSON: the Spark path names the problem
      return null;
    }
    return out;
  }

  /**
   * ASCII only, eight bytes at a time, and no NUL among the first four (where Jackson would guess UTF-16 or UTF-32).
   * Any other control character is refused by the standard parser itself.
   */
  private static boolean ascii(byte[] bytes) {
    int n = bytes.length;
    for (int i = 0; i < Math.min(n, 4); i++) {
      if (bytes[i] == 0) {
        return false;
      }
    }
    int i = 0;
    for (; i + Long.BYTES <= n; i += Long.BYTES) {
      if (((long) LONGS.get(bytes, i) & 0x8080808080808080L) != 0) {
        return false;
      }
    }
    for (; i < n; i++) {
      if (bytes[i] < 0) {
        return false;
      }
    }
    return true;
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof EventRules o && o.table.equals(table) && o.maxAheadMs == maxAheadMs;
  }

  @Override
  public int hashCode() {
    return Objects.hash(table, maxAheadMs);
  }

  @Override
  public String toString() {
    return rules.length + " fields, at most " + maxAheadMs + " ms ahead";
  }
}
