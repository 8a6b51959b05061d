package io.logpipeline.spark;

import java.io.IOException;
import java.io.Serializable;
import java.util.List;
import java.util.Objects;

import org.apache.spark.sql.Column;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.analysis.TypeCheckResult;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.codegen.CodeBlock;
import org.apache.spark.sql.catalyst.expressions.codegen.CodegenContext;
import org.apache.spark.sql.catalyst.expressions.codegen.ExprCode;
import org.apache.spark.sql.catalyst.expressions.codegen.FalseLiteral$;
import org.apache.spark.sql.catalyst.expressions.codegen.JavaCode;
import org.apache.spark.sql.classic.ExpressionUtils$;
import org.apache.spark.sql.types.BinaryType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.types.TimestampType;
import scala.jdk.javaapi.CollectionConverters;

/**
 * The events' fast path, as a Spark expression: the verdict of {@link EventRules} on a raw Kafka record's
 * {@code value} (binary) and {@code timestamp}, a struct of {@code _clean} (boolean, never null) and a {@code _c_<field>}
 * per event field, typed, null unless clean. It reads Spark's internal row directly, in the generated code of its
 * stage: no conversion of the record to a Java row and back. Every record that is not clean is left to the Spark
 * expressions of the job's parse, which repair, judge and name its problems; or, given a {@link SlowPath} (the
 * aggregates query, which needs only the valid events), judged by it: {@code _clean} then says the record is a valid
 * event, plainly or once repaired, and its fields are typed either way.
 */
public final class CleanEvents extends Expression implements Serializable {
  private static final long serialVersionUID = 1L;
  /** The verdict's names; the job's Python side names them {@code jvm.CLEAN} and {@code jvm.CLEAN_PREFIX}. */
  private static final String CLEAN = "_clean";
  private static final String PREFIX = "_c_";

  @SuppressWarnings("serial") // the children Spark gives: its case classes, all serializable
  private final Expression value;
  @SuppressWarnings("serial")
  private final Expression timestamp;
  private final EventRules rules;
  private final StructType type;
  private final SlowPath slow; // null: records that are not clean are left to the parse's Spark expressions
  private transient scala.collection.immutable.Seq<Expression> children;

  /**
   * The verdict on {@code value} and {@code timestamp} by {@code rules}, with {@code slow} judging every record that
   * is not plainly valid (null: none; the constructor Spark's tree copies use).
   */
  public CleanEvents(Expression value, Expression timestamp, EventRules rules, SlowPath slow) {
    this.value = value;
    this.timestamp = timestamp;
    this.rules = rules;
    this.type = rules.schema(CLEAN, PREFIX);
    this.slow = slow;
    if (slow != null && !sameTypes(slow.type(), type)) {
      throw new IllegalArgumentException("slow path: its struct " + slow.type().simpleString()
          + " is not the verdict's " + type.simpleString());
    }
  }

  /**
   * The verdict column on columns {@code value} and {@code timestamp} of a Kafka frame, for the field table
   * {@code fieldsJson} (a JSON array of its entries) and events at most {@code maxAheadMs} ahead of their record,
   * every record that is not plainly valid judged by {@code slow} (null: left as it came).
   */
  public static Column column(Column value, Column timestamp, String fieldsJson, long maxAheadMs, SlowPath slow)
      throws IOException {
    ExpressionUtils$ columns = ExpressionUtils$.MODULE$;
    EventRules rules = new EventRules(fieldsJson, maxAheadMs);
    return columns.column(new CleanEvents(columns.expression(value), columns.expression(timestamp), rules, slow));
  }

  private static boolean sameTypes(StructType a, StructType b) {
    if (a.size() != b.size()) {
      return false;
    }
    for (int i = 0; i < a.size(); i++) {
      if (!a.fields()[i].dataType().equals(b.fields()[i].dataType())) {
        return false;
      }
    }
    return true;
  }

  @Override
  public scala.collection.immutable.Seq<Expression> children() {
    if (children == null) { // Spark asks often
      children = CollectionConverters.asScala(List.of(value, timestamp)).toList();
    }
    return children;
  }

  @Override
  public Expression withNewChildrenInternal(scala.collection.immutable.IndexedSeq<Expression> children) {
    return new CleanEvents(children.apply(0), children.apply(1), rules, slow);
  }

  @Override
  public TypeCheckResult checkInputDataTypes() {
    if (!(value.dataType() instanceof BinaryType) || !(timestamp.dataType() instanceof TimestampType)) {
      return new TypeCheckResult.TypeCheckFailure("clean_events expects a binary value and a timestamp, got "
          + value.dataType().simpleString() + " and " + timestamp.dataType().simpleString());
    }
    return TypeCheckResult.TypeCheckSuccess$.MODULE$;
  }

  @Override
  public DataType dataType() {
    return type;
  }

  @Override
  public boolean nullable() {
    return false;
  }

  @Override
  public String prettyName() {
    return "clean_events";
  }

  @Override
  public Object eval(InternalRow row) {
    Object bytes = value.eval(row);
    Object arrival = timestamp.eval(row);
    long micros = arrival == null ? EventRules.NO_ARRIVAL : (Long) arrival;
    InternalRow verdict = rules.verdict((byte[]) bytes, micros);
    return slow == null || verdict.getBoolean(0) ? verdict : slow.judge((byte[]) bytes, micros);
  }

  @Override
  public ExprCode doGenCode(CodegenContext ctx, ExprCode ev) {
    ExprCode bytes = value.genCode(ctx);
    ExprCode arrival = timestamp.genCode(ctx);
    String judge = ctx.addReferenceObj("cleanEvents", rules, EventRules.class.getName());
    String args = "(" + bytes.isNull() + " ? null : " + bytes.value() + ", " + arrival.isNull() + " ? "
        + EventRules.NO_ARRIVAL + "L : " + arrival.value() + ")";
    String call = "\n" + InternalRow.class.getName() + " " + ev.value() + " = " + judge + ".verdict" + args + ";\n";
    if (slow != null) {
      String path = ctx.addReferenceObj("slowPath", slow, SlowPath.class.getName());
      call += "if (!" + ev.value() + ".getBoolean(0)) {\n  " + ev.value() + " = " + path + ".judge" + args + ";\n}\n";
    }
    CodeBlock code = new CodeBlock(
        CollectionConverters.asScala(List.of("", "\n", call)).toList(),
        CollectionConverters.asScala(List.<JavaCode>of(bytes.code(), arrival.code())).toList());
    return new ExprCode(code, FalseLiteral$.MODULE$, ev.value());
  }

  @Override
  public int productArity() {
    return 4;
  }

  @Override
  public Object productElement(int n) {
    return switch (n) {
      case 0 -> value;
      case 1 -> timestamp;
      case 2 -> rules;
      case 3 -> slow;
      default -> throw new IndexOutOfBoundsException(n);
    };
  }

  @Override
  public boolean canEqual(Object other) {
    return other instanceof CleanEvents;
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof CleanEvents o && o.value.equals(value) && o.timestamp.equals(timestamp)
        && o.rules.equals(rules) && Objects.equals(o.slow, slow);
  }

  @Override
  public int hashCode() {
    return Objects.hash(value, timestamp, rules, slow);
  }
}
