package io.logpipeline.spark;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.Attribute;
import org.apache.spark.sql.catalyst.expressions.AttributeReference;
import org.apache.spark.sql.catalyst.expressions.BoundReference;
import org.apache.spark.sql.catalyst.expressions.CreateArray;
import org.apache.spark.sql.catalyst.expressions.CreateNamedStruct;
import org.apache.spark.sql.catalyst.expressions.ExprId;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.apache.spark.sql.catalyst.expressions.Inline;
import org.apache.spark.sql.catalyst.expressions.NamedExpression;
import org.apache.spark.sql.catalyst.expressions.SpecificInternalRow;
import org.apache.spark.sql.catalyst.expressions.MutableProjection;
import org.apache.spark.sql.catalyst.expressions.MutableProjection$;
import org.apache.spark.sql.catalyst.plans.logical.Generate;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.catalyst.plans.logical.Project;
import org.apache.spark.sql.catalyst.types.DataTypeUtils;
import org.apache.spark.sql.types.BinaryType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.types.TimestampType;
import scala.jdk.javaapi.CollectionConverters;

/**
 * The parse's slow path for the records {@link EventRules} does not find plainly valid, as one piece the aggregates
 * query's plan holds inside {@link CleanEvents}: the same Spark expressions that judge and repair such a record in the
 * job's parse, taken from the optimized plan of a frame that applies them to an empty template of {@code value} and
 * {@code timestamp} (its {@code Project} nodes and {@code inline} barriers), bound stage by stage and evaluated as
 * projections, compiled once per task thread, only for a record that needs them. The plan that holds it is small (its
 * planning, code generation and task serialization each batch), and the expressions are the parse's own. They reach
 * the tasks as a broadcast variable, fetched once per executor: serialized with the plan, they were about 230 KB in
 * every stage's task binary of every batch (the stateful stages' too, which hold the plan beneath them).
 */
public final class SlowPath implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final String[] INPUTS = {"value", "timestamp"};
  /** Slow paths whose projections a task thread holds, at most (one per query start, seldom more than two). */
  private static final int KEPT = 4;
  /**
   * Each task thread's compiled projections, by slow path: generating a stage's code from its expressions takes
   * milliseconds, and a micro-batch runs new tasks every batch on the same threads, one task at a time per thread.
   */
  private static final ThreadLocal<Map<String, MutableProjection[]>> COMPILED = ThreadLocal.withInitial(HashMap::new);

  private final Broadcast<List<List<Expression>>> stages;
  private final StructType type;
  private final String key; // its projections in each thread (a broadcast's id is unique only in its context)

  private SlowPath(Broadcast<List<List<Expression>>> stages, StructType type) {
    this.stages = stages;
    this.type = type;
    this.key = UUID.randomUUID().toString();
  }

  /**
   * The stages of {@code frame}'s optimized plan: over a leaf whose {@code value} (binary) and {@code timestamp}
   * columns are the only ones read, {@code Project} nodes and {@code inline} barriers of one struct each.
   */
  public static SlowPath of(Dataset<Row> frame) {
    LogicalPlan plan = frame.queryExecution().optimizedPlan();
    List<LogicalPlan> chain = new ArrayList<>();
    for (LogicalPlan node = plan; !node.children().isEmpty(); node = node.children().head()) {
      if (node.children().size() != 1) {
        throw new IllegalArgumentException("slow path: a plan node of " + node.children().size()
            + " children: " + node.nodeName());
      }
      chain.add(0, node);
    }
    LogicalPlan leaf = chain.isEmpty() ? plan : chain.get(0).children().head();
    Map<ExprId, Integer> at = new HashMap<>();
    List<Attribute> leafOutput = CollectionConverters.asJava(leaf.output());
    for (int i = 0; i < INPUTS.length; i++) {
      Attribute input = named(leafOutput, INPUTS[i]);
      boolean typed = i == 0 ? input.dataType() instanceof BinaryType : input.dataType() instanceof TimestampType;
      if (!typed) {
        throw new IllegalArgumentException("slow path: input " + INPUTS[i] + " of type "
            + input.dataType().simpleString() + ", expected binary value and timestamp");
      }
      at.put(input.exprId(), i);
    }
    List<List<Expression>> stages = new ArrayList<>();
    List<Attribute> output = leafOutput;
    for (LogicalPlan node : chain) {
      List<Expression> exprs = new ArrayList<>();
      if (node instanceof Project project) {
        for (NamedExpression named : CollectionConverters.asJava(project.projectList())) {
          exprs.add((Expression) named); // a Scala trait over Expression
        }
      } else if (node instanceof Generate generate && !generate.outer()) {
        exprs.addAll(CollectionConverters.<Attribute>asJava(generate.requiredChildOutput()));
        exprs.addAll(inlined(generate));
      } else {
        throw new IllegalArgumentException("slow path: a plan node it cannot evaluate: " + node.simpleString(200));
      }
      List<Expression> bound = new ArrayList<>();
      for (Expression expr : exprs) {
        if (!expr.deterministic()) {
          throw new IllegalArgumentException("slow path: a nondeterministic expression: " + expr.sql());
        }
        bound.add(bind(expr, at));
      }
      stages.add(List.copyOf(bound));
      output = CollectionConverters.asJava(node.output());
      at = new HashMap<>();
      for (int i = 0; i < output.size(); i++) {
        at.put(output.get(i).exprId(), i);
      }
    }
    if (stages.isEmpty()) {
      throw new IllegalArgumentException("slow path: the frame computes nothing from its inputs");
    }
    JavaSparkContext spark = JavaSparkContext.fromSparkContext(frame.sparkSession().sparkContext());
    return new SlowPath(spark.broadcast(List.copyOf(stages)),
        DataTypeUtils.fromAttributes(CollectionConverters.asScala(output).toSeq()));
  }

  private static Attribute named(List<Attribute> attributes, String name) {
    for (Attribute attribute : attributes) {
      if (attribute.name().equals(name)) {
        return attribute;
      }
    }
    throw new IllegalArgumentException("slow path: the template has no column " + name);
  }

  /** The struct's fields of an {@code inline} barrier, {@code inline(array(struct(...)))} of one struct. */
  private static List<Expression> inlined(Generate generate) {
    if (generate.generator() instanceof Inline inline && inline.child() instanceof CreateArray array
        && array.children().size() == 1 && array.children().head() instanceof CreateNamedStruct struct) {
      return CollectionConverters.asJava(struct.valExprs());
    }
    throw new IllegalArgumentException("slow path: a generator other than inline(array(struct(...))): "
        + generate.generator());
  }

  private static Expression bind(Expression expr, Map<ExprId, Integer> at) {
    if (expr instanceof AttributeReference ref) {
      Integer ordinal = at.get(ref.exprId());
      if (ordinal == null) {
        throw new IllegalArgumentException("slow path: column " + ref.name() + " is not an input of its stage (only "
            + String.join(" and ", INPUTS) + " are inputs of the first)");
      }
      return new BoundReference(ordinal, ref.dataType(), ref.nullable());
    }
    if (expr.children().isEmpty()) {
      return expr;
    }
    List<Expression> children = new ArrayList<>();
    for (Expression child : CollectionConverters.asJava(expr.children())) {
      children.add(bind(child, at));
    }
    return expr.withNewChildren(CollectionConverters.asScala(children).toSeq());
  }

  /** The struct each judgement returns: the last stage's columns. */
  public StructType type() {
    return type;
  }

  /** The last stage's row for a record of {@code value} and Kafka timestamp {@code arrivalMicros}. */
  public InternalRow judge(byte[] value, long arrivalMicros) {
    InternalRow row = new GenericInternalRow(
        new Object[] {value, arrivalMicros == EventRules.NO_ARRIVAL ? null : arrivalMicros});
    for (MutableProjection projection : compiled()) {
      row = projection.apply(row); // the projection's own row, which its next record overwrites
    }
    Object[] judged = new Object[type.size()];
    for (int i = 0; i < judged.length; i++) {
      judged[i] = row.isNullAt(i) ? null : row.get(i, type.fields()[i].dataType());
    }
    return new GenericInternalRow(judged);
  }

  /**
   * This thread's projections of the stages, compiled on its first record of them, each of its own copy of their
   * expressions (Spark's JSON reader keeps its parser's state between rows).
   */
  private MutableProjection[] compiled() {
    Map<String, MutableProjection[]> held = COMPILED.get();
    MutableProjection[] made = held.get(key);
    if (made != null) {
      return made;
    }
    List<List<Expression>> shared = stages.value(); // one copy per executor: each thread compiles its own copy
    made = new MutableProjection[shared.size()];
    for (int i = 0; i < made.length; i++) {
      List<Expression> own = shared.get(i).stream().map(Expression::freshCopyIfContainsStatefulExpression).toList();
      made[i] = MutableProjection$.MODULE$.create(CollectionConverters.asScala(own).toSeq());
      List<DataType> types = own.stream().map(Expression::dataType).toList();
      made[i].target(new SpecificInternalRow(CollectionConverters.asScala(types).toSeq())); // primitives unboxed
    }
    if (held.size() >= KEPT) {
      held.clear();
    }
    held.put(key, made);
    return made;
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof SlowPath o && o.key.equals(key);
  }

  @Override
  public int hashCode() {
    return key.hashCode();
  }

  @Override
  public String toString() {
    return "slow_path(broadcast " + stages.id() + ")";
  }
}
