package io.logpipeline.spark;

import java.io.IOException;
import java.io.Serializable;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The events' fast path: a raw Kafka record that is plainly a valid event is read here, once, from its bytes, and comes
 * out with its typed fields; every other record is left to the Spark expressions of the job's parse, which repair,
 * judge and name its problems. "Plainly valid" is narrow on purpose, so that the two paths can never disagree: ASCII
 * bytes (no character decoding, no byte-order guesswork), one standard JSON object and nothing after it, each event
 * field at most once and of its exact JSON type (a string, or an integer as its text, for a string field, an integer
 * for an integer field, a number for a number field, an epoch in milliseconds for the event time), no name that differs
 * from a field's only in case, every bound of the field table met, required fields present, and the event time no
 * further ahead of the record's Kafka timestamp than allowed. Such a record needs no repair, so its fields are the
 * values the Spark parse gives it. Adds {@code _clean} (boolean) and a {@code _c_<field>} column per event field (null
 * unless clean) to the input's columns; a clean record's {@code key}, {@code value} and {@code topic} become null (only
 * a dead letter carries them).
 */
public final class CleanEvents implements MapPartitionsFunction<Row, Row> {
  private static final long serialVersionUID = 1L;

  /** Standard JSON only: Spark's reader accepts more (single quotes, NaN), which goes to its path. */
  private static final JsonFactory JSON = new JsonFactory();
  private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
  /** The bounds of an epoch in milliseconds in the job's timestamp rule; outside them the Spark path converts. */
  private static final long EPOCH_MS_FROM = 100_000_000_000L;
  private static final long EPOCH_MS_BELOW = 100_000_000_000_000L;
  /** The added columns' names; the job's Python side names them {@code jvm.CLEAN} and {@code jvm.CLEAN_PREFIX}. */
  private static final String CLEAN = "_clean";
  private static final String PREFIX = "_c_";

  /** One event field's rule, from the field table the job passes as JSON. */
  static final class Rule implements Serializable {
    private static final long serialVersionUID = 1L;
    final String name;
    final char kind; // s string, i int, l long, d double, t epoch ms
    final boolean required;
    final double minimum;
    final double maximum;
    final int maxLength;
    final HashSet<String> allowed; // a Serializable type: javac 18+ warns of a field declared as Set

    Rule(JsonNode spec) {
      name = spec.get("name").asText();
      String type = spec.get("type").asText();
      kind = "epoch_ms".equals(spec.path("repair").asText()) ? 't' : kindOf(type);
      required = spec.path("required").asBoolean(true);
      minimum = spec.path("minimum").isNumber() ? spec.get("minimum").asDouble() : Double.NEGATIVE_INFINITY;
      maximum = spec.path("maximum").isNumber() ? spec.get("maximum").asDouble() : Double.POSITIVE_INFINITY;
      maxLength = spec.path("max_length").isNumber() ? spec.get("max_length").asInt() : -1;
      if (spec.path("enum").isArray()) {
        allowed = new HashSet<>();
        spec.get("enum").forEach(v -> allowed.add(v.asText()));
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

    /**
     * An integer in a string field becomes its JSON text (the original producer's {@code response_code}); only an
     * integer written as Java writes it (no {@code -0}), whichever of the token and its value Spark copies.
     */
    private static boolean canonicalInteger(JsonParser p, String text) throws IOException {
      JsonParser.NumberType type = p.getNumberType();
      boolean fits = type == JsonParser.NumberType.INT || type == JsonParser.NumberType.LONG;
      return fits && text.equals(Long.toString(p.getLongValue()));
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
          String text = p.getText();
          if (token != JsonToken.VALUE_STRING && !(token == JsonToken.VALUE_NUMBER_INT && canonicalInteger(p, text))) {
            return null;
          }
          boolean ok = (maxLength < 0 || text.codePointCount(0, text.length()) <= maxLength)
              && (allowed == null || allowed.contains(text))
              && !(required && text.isEmpty());
          return ok ? text : null;
        }
        case 'd': {
          boolean number = token == JsonToken.VALUE_NUMBER_FLOAT
              || (token == JsonToken.VALUE_NUMBER_INT && p.getNumberType() != JsonParser.NumberType.BIG_INTEGER);
          if (!number) {
            return null;
          }
          double value = p.getDoubleValue();
          return Double.isFinite(value) && value >= minimum && value <= maximum ? value : null;
        }
        default: {
          if (token != JsonToken.VALUE_NUMBER_INT) {
            return null;
          }
          JsonParser.NumberType type = p.getNumberType();
          boolean fits = type == JsonParser.NumberType.INT || (kind != 'i' && type == JsonParser.NumberType.LONG);
          if (!fits) {
            return null;
          }
          long value = p.getLongValue();
          if (kind == 't' && (value < EPOCH_MS_FROM || value >= EPOCH_MS_BELOW)) {
            return null;
          }
          if (value < minimum || value > maximum) {
            return null;
          }
          return kind == 'i' ? (Object) (int) value : (Object) value;
        }
      }
    }
  }

  private final Rule[] rules;
  private final int valueAt;
  private final int arrivalAt;
  private final int eventTimeAt;
  private final int[] dropped;
  private final long maxAheadMs;
  private transient Map<String, Integer> index;
  private transient Set<String> folded;

  CleanEvents(Rule[] rules, int valueAt, int arrivalAt, int[] dropped, long maxAheadMs) {
    this.rules = rules;
    this.valueAt = valueAt;
    this.dropped = dropped;
    this.arrivalAt = arrivalAt;
    this.maxAheadMs = maxAheadMs;
    int at = -1;
    for (int i = 0; i < rules.length; i++) {
      if (rules[i].kind == 't') {
        at = i;
      }
    }
    if (at < 0) {
      throw new IllegalArgumentException("the field table has no event time (a field with repair epoch_ms)");
    }
    this.eventTimeAt = at;
  }

  /**
   * {@code raw} (Kafka's columns, {@code value} and {@code timestamp} among them) with {@code _clean} and a
   * {@code _c_<field>} column per field of {@code fieldsJson}: a JSON array of the field table's entries (name, type,
   * required, minimum, maximum, max_length, enum, repair).
   */
  public static Dataset<Row> apply(Dataset<Row> raw, String fieldsJson, long maxAheadMs) throws IOException {
    List<Rule> parsed = new ArrayList<>();
    for (JsonNode spec : new ObjectMapper().readTree(fieldsJson)) {
      parsed.add(new Rule(spec));
    }
    Rule[] rules = parsed.toArray(new Rule[0]);
    StructType schema = raw.schema();
    StructType out = schema.add(CLEAN, DataTypes.BooleanType, false);
    for (Rule rule : rules) {
      out = out.add(PREFIX + rule.name, rule.sparkType(), true);
    }
    int valueAt = schema.fieldIndex("value");
    int[] dropped = {schema.fieldIndex("key"), valueAt, schema.fieldIndex("topic")};
    CleanEvents function = new CleanEvents(rules, valueAt, schema.fieldIndex("timestamp"), dropped, maxAheadMs);
    return raw.mapPartitions(function, Encoders.row(out));
  }

  @Override
  public Iterator<Row> call(Iterator<Row> input) {
    index = new HashMap<>();
    folded = new HashSet<>();
    for (int i = 0; i < rules.length; i++) {
      index.put(rules[i].name, i);
      folded.add(rules[i].name.toLowerCase(Locale.ROOT));
    }
    folded.add("_corrupt_record");
    return new Iterator<>() {
      @Override
      public boolean hasNext() {
        return input.hasNext();
      }

      @Override
      public Row next() {
        return judged(input.next());
      }
    };
  }

  private Row judged(Row row) {
    int width = row.length();
    Object[] values = new Object[width + 1 + rules.length];
    for (int i = 0; i < width; i++) {
      values[i] = row.get(i);
    }
    Object[] fields = fields((byte[]) values[valueAt], arrivalMs(values[arrivalAt]));
    values[width] = fields != null;
    if (fields != null) {
      System.arraycopy(fields, 0, values, width + 1, rules.length);
      for (int at : dropped) { // what only an invalid record's dead letter needs: not copied on with the event
        values[at] = null;
      }
    }
    return RowFactory.create(values);
  }

  private static long arrivalMs(Object timestamp) {
    if (timestamp instanceof Timestamp ts) {
      return ts.getTime();
    }
    if (timestamp instanceof Instant instant) {
      return instant.toEpochMilli();
    }
    return Long.MIN_VALUE; // none: not plainly valid
  }

  /** The record's typed fields when it is plainly a valid event, else null. */
  Object[] fields(byte[] value, long arrivalMs) {
    if (value == null || arrivalMs == Long.MIN_VALUE || !ascii(value)) {
      return null;
    }
    Object[] out = new Object[rules.length];
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
        out[at] = typed;
      }
      if (p.nextToken() != null) {
        return null;
      }
    } catch (IOException | RuntimeException notPlain) { // not plain JSON: the Spark path names the problem
      return null;
    }
    for (int i = 0; i < rules.length; i++) {
      if (rules[i].required && out[i] == null) {
        return null;
      }
    }
    return out[eventTimeAt] instanceof Long eventMs && eventMs - arrivalMs <= maxAheadMs ? out : null;
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
}
