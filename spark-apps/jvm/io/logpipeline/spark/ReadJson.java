package io.logpipeline.spark;

import java.io.IOException;
import java.io.Serializable;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.analysis.TypeCheckResult;
import org.apache.spark.sql.catalyst.expressions.BoundReference;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.JsonToStructs;
import org.apache.spark.sql.catalyst.expressions.JsonToStructs$;
import org.apache.spark.sql.catalyst.expressions.codegen.CodeBlock;
import org.apache.spark.sql.catalyst.expressions.codegen.CodegenContext;
import org.apache.spark.sql.catalyst.expressions.codegen.ExprCode;
import org.apache.spark.sql.catalyst.expressions.codegen.JavaCode;
import org.apache.spark.sql.catalyst.expressions.codegen.VariableValue;
import org.apache.spark.sql.classic.ExpressionUtils$;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StringType;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.unsafe.types.UTF8String;
import scala.Option;
import scala.jdk.javaapi.CollectionConverters;

/**
 * Spark's own JSON reader ({@code from_json}, the expression {@code JsonToStructs}) behind an expression that stays in
 * its stage's generated code. {@code from_json} itself is evaluated row by row through its interpreter
 * ({@code CodegenFallback}), and Spark runs every plan node that holds one outside whole-stage code generation: each
 * row of that node, whether parsed or not, evaluated and copied by the interpreter. Here the text is computed by the
 * generated code and handed to the same reader, with the same schema and options; a null text is not parsed (null).
 */
public final class ReadJson extends Expression implements Serializable {
  private static final long serialVersionUID = 1L;

  @SuppressWarnings("serial") // the child Spark gives: its case classes, all serializable
  private final Expression text;
  private final JsonToStructs reader;
  private transient scala.collection.immutable.Seq<Expression> children;

  /** {@code text} read by {@code reader} (the constructor Spark's tree copies use). */
  public ReadJson(Expression text, JsonToStructs reader) {
    this.text = text;
    this.reader = reader;
  }

  /**
   * The column {@code text} (a string) read as {@code from_json(text, schema, options)} does in a session of time zone
   * {@code timeZone}: {@code schemaJson} a struct type as JSON, {@code optionsJson} an object of string options.
   */
  public static Column column(Column text, String schemaJson, String optionsJson, String timeZone)
      throws IOException {
    StructType schema = (StructType) DataType.fromJson(schemaJson);
    Map<String, String> options = new ObjectMapper().readValue(optionsJson, new TypeReference<HashMap<String, String>>() {
    });
    JsonToStructs reader = new JsonToStructs(schema, scala.collection.immutable.Map.from(
        CollectionConverters.asScala(options)), new BoundReference(0, DataTypes.StringType, true),
        Option.apply(timeZone), JsonToStructs$.MODULE$.apply$default$5());
    ExpressionUtils$ columns = ExpressionUtils$.MODULE$;
    return columns.column(new ReadJson(columns.expression(text), reader));
  }

  /** The reader's result on one text: its struct, or null. */
  public InternalRow read(UTF8String json) {
    return (InternalRow) reader.nullSafeEval(json);
  }

  @Override
  public scala.collection.immutable.Seq<Expression> children() {
    if (children == null) { // Spark asks often
      children = CollectionConverters.asScala(List.of(text)).toList();
    }
    return children;
  }

  @Override
  public Expression withNewChildrenInternal(scala.collection.immutable.IndexedSeq<Expression> newChildren) {
    return new ReadJson(newChildren.apply(0), (JsonToStructs) reader.freshCopyIfContainsStatefulExpression());
  }

  /** The reader keeps its parser's state between rows: each copy of the tree gets its own. */
  @Override
  public boolean stateful() {
    return true;
  }

  @Override
  public TypeCheckResult checkInputDataTypes() {
    if (!(text.dataType() instanceof StringType)) {
      return new TypeCheckResult.TypeCheckFailure("read_json expects a string, got " + text.dataType().simpleString());
    }
    return TypeCheckResult.TypeCheckSuccess$.MODULE$;
  }

  @Override
  public DataType dataType() {
    return reader.dataType();
  }

  @Override
  public boolean nullable() {
    return true;
  }

  @Override
  public String prettyName() {
    return "read_json";
  }

  @Override
  public Object eval(InternalRow row) {
    Object json = text.eval(row);
    return json == null ? null : read((UTF8String) json);
  }

  @Override
  public ExprCode doGenCode(CodegenContext ctx, ExprCode ev) {
    ExprCode json = text.genCode(ctx);
    String self = ctx.addReferenceObj("readJson", this, ReadJson.class.getName());
    String isNull = ctx.freshName("isNull");
    String call = "\n" + InternalRow.class.getName() + " " + ev.value() + " = " + json.isNull() + " ? null : " + self
        + ".read(" + json.value() + ");\nboolean " + isNull + " = " + ev.value() + " == null;\n";
    CodeBlock code = new CodeBlock(
        CollectionConverters.asScala(List.of("", call)).toList(),
        CollectionConverters.asScala(List.<JavaCode>of(json.code())).toList());
    return new ExprCode(code, new VariableValue(isNull, boolean.class), ev.value());
  }

  @Override
  public int productArity() {
    return 2;
  }

  @Override
  public Object productElement(int n) {
    return switch (n) {
      case 0 -> text;
      case 1 -> reader;
      default -> throw new IndexOutOfBoundsException(n);
    };
  }

  @Override
  public boolean canEqual(Object other) {
    return other instanceof ReadJson;
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof ReadJson o && o.text.equals(text) && o.reader.equals(reader);
  }

  @Override
  public int hashCode() {
    return Objects.hash(text, reader);
  }
}
