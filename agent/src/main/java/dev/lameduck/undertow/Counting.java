package dev.lameduck.undertow;

import dev.lameduck.server.Reflect;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.objectweb.asm.ClassWriter;
import org.objectweb.asm.Label;
import org.objectweb.asm.MethodVisitor;
import org.objectweb.asm.Opcodes;

/**
 * The per-request work the agent adds to Undertow, as two small classes generated with ASM into Undertow's own
 * package and class loader (they implement its interfaces, which the agent's class loader cannot see): an
 * {@code HttpHandler} that counts the exchange and adds a completion listener, and that listener, which counts it
 * done. Before the lame duck that is all: two {@code LongAdder}s (no contended cache line between request threads), no map, no allocation, no reflection (issue 7).
 * From the lame duck on, each also hands the exchange to the agent ({@link #lameDuck}: {@code Predicate}, true
 * when it answered the request itself; {@link #completion}: {@code Consumer}), where the slow work is done.
 *
 * <pre>
 * public void handleRequest(HttpServerExchange x) throws Exception {
 *     inFlight.increment();
 *     x.addExchangeCompleteListener(done);
 *     Predicate p = (Predicate) lameDuck.get();
 *     if (p != null &amp;&amp; p.test(x)) return;
 *     next.handleRequest(x);
 * }
 * public void exchangeEvent(HttpServerExchange x, NextListener n) {
 *     inFlight.decrement(); completed.increment();
 *     if (x.isUpgrade()) upgraded.accept(x);
 *     Consumer c = (Consumer) completion.get();
 *     if (c != null) c.accept(x);
 *     n.proceed();
 * }
 * </pre>
 */
final class Counting {
    private static final String HANDLER = "LameduckCounting";
    private static final String LISTENER = "LameduckCounted";
    /** Each server (handle) has classes of its own: a name is defined once per class loader. */
    private static final AtomicInteger generation = new AtomicInteger();

    final LongAdder inFlight = new LongAdder();
    final LongAdder completed = new LongAdder();
    /** Set at the lame duck's start: sees each new exchange; true when it answered it (a readiness path). */
    final AtomicReference<Predicate<Object>> lameDuck = new AtomicReference<>();
    /** Set at the lame duck's start: sees each completed exchange. */
    final AtomicReference<Consumer<Object>> completion = new AtomicReference<>();
    /**
     * Sees each exchange that switched protocols (101: a WebSocket, an h2c upgrade) as it completes, from the start:
     * an open WebSocket is no request in flight, but is told to go when accepting stops.
     */
    final AtomicReference<Consumer<Object>> upgraded = new AtomicReference<>(x -> { });

    private final Class<?> handlerClass;
    /** The generated completion listener (package-private for the JMH benchmark of this path). */
    final Object done;

    /** @param httpHandler Undertow's {@code io.undertow.server.HttpHandler} (relocated or not) */
    Counting(Class<?> httpHandler) throws Exception {
        String pkg = httpHandler.getName().substring(0, httpHandler.getName().lastIndexOf('.')).replace('.', '/');
        String handler = pkg + "/HttpHandler";
        String exchange = pkg + "/HttpServerExchange";
        String listener = pkg + "/ExchangeCompletionListener";
        int n = generation.incrementAndGet();
        Class<?> listenerClass = Reflect.defineNextTo(httpHandler, listener(pkg + "/" + LISTENER + n, exchange, listener));
        handlerClass = Reflect.defineNextTo(httpHandler, handler(pkg + "/" + HANDLER + n, handler, exchange, listener));
        done = listenerClass.getConstructor(LongAdder.class, LongAdder.class, AtomicReference.class, AtomicReference.class)
                .newInstance(inFlight, completed, completion, upgraded);
    }

    /** A counting handler in front of {@code next} (an Undertow HttpHandler). */
    Object wrap(Object next) throws Exception {
        for (java.lang.reflect.Constructor<?> c : handlerClass.getConstructors()) {
            return c.newInstance(next, inFlight, done, lameDuck);
        }
        throw new IllegalStateException("no constructor");
    }

    private static byte[] handler(String name, String handler, String exchange, String listener) {
        ClassWriter cw = writer();
        cw.visit(Opcodes.V1_8, Opcodes.ACC_PUBLIC | Opcodes.ACC_FINAL | Opcodes.ACC_SUPER, name, null, "java/lang/Object", new String[] {handler});
        field(cw, "next", "L" + handler + ";");
        field(cw, "inFlight", "Ljava/util/concurrent/atomic/LongAdder;");
        field(cw, "done", "L" + listener + ";");
        field(cw, "lameDuck", "Ljava/util/concurrent/atomic/AtomicReference;");
        constructor(cw, name, new String[] {"next", "inFlight", "done", "lameDuck"},
                new String[] {"L" + handler + ";", "Ljava/util/concurrent/atomic/LongAdder;", "L" + listener + ";", "Ljava/util/concurrent/atomic/AtomicReference;"});

        MethodVisitor mv = cw.visitMethod(Opcodes.ACC_PUBLIC, "handleRequest", "(L" + exchange + ";)V", null, new String[] {"java/lang/Exception"});
        mv.visitCode();
        mv.visitVarInsn(Opcodes.ALOAD, 0);
        mv.visitFieldInsn(Opcodes.GETFIELD, name, "inFlight", "Ljava/util/concurrent/atomic/LongAdder;");
        mv.visitMethodInsn(Opcodes.INVOKEVIRTUAL, "java/util/concurrent/atomic/LongAdder", "increment", "()V", false);
        mv.visitVarInsn(Opcodes.ALOAD, 1);
        mv.visitVarInsn(Opcodes.ALOAD, 0);
        mv.visitFieldInsn(Opcodes.GETFIELD, name, "done", "L" + listener + ";");
        mv.visitMethodInsn(Opcodes.INVOKEVIRTUAL, exchange, "addExchangeCompleteListener", "(L" + listener + ";)L" + exchange + ";", false);
        mv.visitInsn(Opcodes.POP);
        Label serve = new Label();
        mv.visitVarInsn(Opcodes.ALOAD, 0);
        mv.visitFieldInsn(Opcodes.GETFIELD, name, "lameDuck", "Ljava/util/concurrent/atomic/AtomicReference;");
        mv.visitMethodInsn(Opcodes.INVOKEVIRTUAL, "java/util/concurrent/atomic/AtomicReference", "get", "()Ljava/lang/Object;", false);
        mv.visitTypeInsn(Opcodes.CHECKCAST, "java/util/function/Predicate");
        mv.visitVarInsn(Opcodes.ASTORE, 2);
        mv.visitVarInsn(Opcodes.ALOAD, 2);
        mv.visitJumpInsn(Opcodes.IFNULL, serve);
        mv.visitVarInsn(Opcodes.ALOAD, 2);
        mv.visitVarInsn(Opcodes.ALOAD, 1);
        mv.visitMethodInsn(Opcodes.INVOKEINTERFACE, "java/util/function/Predicate", "test", "(Ljava/lang/Object;)Z", true);
        mv.visitJumpInsn(Opcodes.IFEQ, serve);
        mv.visitInsn(Opcodes.RETURN);
        mv.visitLabel(serve);
        mv.visitFrame(Opcodes.F_APPEND, 1, new Object[] {"java/util/function/Predicate"}, 0, null);
        mv.visitVarInsn(Opcodes.ALOAD, 0);
        mv.visitFieldInsn(Opcodes.GETFIELD, name, "next", "L" + handler + ";");
        mv.visitVarInsn(Opcodes.ALOAD, 1);
        mv.visitMethodInsn(Opcodes.INVOKEINTERFACE, handler, "handleRequest", "(L" + exchange + ";)V", true);
        mv.visitInsn(Opcodes.RETURN);
        mv.visitMaxs(0, 0);
        mv.visitEnd();
        cw.visitEnd();
        return cw.toByteArray();
    }

    private static byte[] listener(String name, String exchange, String listener) {
        String next = listener + "$NextListener";
        ClassWriter cw = writer();
        cw.visit(Opcodes.V1_8, Opcodes.ACC_PUBLIC | Opcodes.ACC_FINAL | Opcodes.ACC_SUPER, name, null, "java/lang/Object", new String[] {listener});
        field(cw, "inFlight", "Ljava/util/concurrent/atomic/LongAdder;");
        field(cw, "completed", "Ljava/util/concurrent/atomic/LongAdder;");
        field(cw, "completion", "Ljava/util/concurrent/atomic/AtomicReference;");
        field(cw, "upgraded", "Ljava/util/concurrent/atomic/AtomicReference;");
        constructor(cw, name, new String[] {"inFlight", "completed", "completion", "upgraded"},
                new String[] {"Ljava/util/concurrent/atomic/LongAdder;", "Ljava/util/concurrent/atomic/LongAdder;", "Ljava/util/concurrent/atomic/AtomicReference;",
                    "Ljava/util/concurrent/atomic/AtomicReference;"});

        MethodVisitor mv = cw.visitMethod(Opcodes.ACC_PUBLIC, "exchangeEvent", "(L" + exchange + ";L" + next + ";)V", null, null);
        mv.visitCode();
        mv.visitVarInsn(Opcodes.ALOAD, 0);
        mv.visitFieldInsn(Opcodes.GETFIELD, name, "inFlight", "Ljava/util/concurrent/atomic/LongAdder;");
        mv.visitMethodInsn(Opcodes.INVOKEVIRTUAL, "java/util/concurrent/atomic/LongAdder", "decrement", "()V", false);
        mv.visitVarInsn(Opcodes.ALOAD, 0);
        mv.visitFieldInsn(Opcodes.GETFIELD, name, "completed", "Ljava/util/concurrent/atomic/LongAdder;");
        mv.visitMethodInsn(Opcodes.INVOKEVIRTUAL, "java/util/concurrent/atomic/LongAdder", "increment", "()V", false);
        Label notUpgraded = new Label();
        mv.visitVarInsn(Opcodes.ALOAD, 1);
        mv.visitMethodInsn(Opcodes.INVOKEVIRTUAL, exchange, "isUpgrade", "()Z", false);
        mv.visitJumpInsn(Opcodes.IFEQ, notUpgraded);
        mv.visitVarInsn(Opcodes.ALOAD, 0);
        mv.visitFieldInsn(Opcodes.GETFIELD, name, "upgraded", "Ljava/util/concurrent/atomic/AtomicReference;");
        mv.visitMethodInsn(Opcodes.INVOKEVIRTUAL, "java/util/concurrent/atomic/AtomicReference", "get", "()Ljava/lang/Object;", false);
        mv.visitTypeInsn(Opcodes.CHECKCAST, "java/util/function/Consumer");
        mv.visitVarInsn(Opcodes.ALOAD, 1);
        mv.visitMethodInsn(Opcodes.INVOKEINTERFACE, "java/util/function/Consumer", "accept", "(Ljava/lang/Object;)V", true);
        mv.visitLabel(notUpgraded);
        mv.visitFrame(Opcodes.F_SAME, 0, null, 0, null);
        Label proceed = new Label();
        mv.visitVarInsn(Opcodes.ALOAD, 0);
        mv.visitFieldInsn(Opcodes.GETFIELD, name, "completion", "Ljava/util/concurrent/atomic/AtomicReference;");
        mv.visitMethodInsn(Opcodes.INVOKEVIRTUAL, "java/util/concurrent/atomic/AtomicReference", "get", "()Ljava/lang/Object;", false);
        mv.visitTypeInsn(Opcodes.CHECKCAST, "java/util/function/Consumer");
        mv.visitVarInsn(Opcodes.ASTORE, 3);
        mv.visitVarInsn(Opcodes.ALOAD, 3);
        mv.visitJumpInsn(Opcodes.IFNULL, proceed);
        mv.visitVarInsn(Opcodes.ALOAD, 3);
        mv.visitVarInsn(Opcodes.ALOAD, 1);
        mv.visitMethodInsn(Opcodes.INVOKEINTERFACE, "java/util/function/Consumer", "accept", "(Ljava/lang/Object;)V", true);
        mv.visitLabel(proceed);
        mv.visitFrame(Opcodes.F_APPEND, 1, new Object[] {"java/util/function/Consumer"}, 0, null);
        mv.visitVarInsn(Opcodes.ALOAD, 2);
        mv.visitMethodInsn(Opcodes.INVOKEINTERFACE, next, "proceed", "()V", true);
        mv.visitInsn(Opcodes.RETURN);
        mv.visitMaxs(0, 0);
        mv.visitEnd();
        cw.visitEnd();
        return cw.toByteArray();
    }

    /** Stack sizes computed by ASM; the one frame of each method is written by hand (computing them costs startup). */
    private static ClassWriter writer() {
        return new ClassWriter(ClassWriter.COMPUTE_MAXS);
    }

    private static void field(ClassWriter cw, String name, String descriptor) {
        cw.visitField(Opcodes.ACC_PRIVATE | Opcodes.ACC_FINAL, name, descriptor, null, null).visitEnd();
    }

    private static void constructor(ClassWriter cw, String owner, String[] names, String[] descriptors) {
        StringBuilder d = new StringBuilder("(");
        for (String x : descriptors) {
            d.append(x);
        }
        MethodVisitor mv = cw.visitMethod(Opcodes.ACC_PUBLIC, "<init>", d.append(")V").toString(), null, null);
        mv.visitCode();
        mv.visitVarInsn(Opcodes.ALOAD, 0);
        mv.visitMethodInsn(Opcodes.INVOKESPECIAL, "java/lang/Object", "<init>", "()V", false);
        for (int i = 0; i < names.length; i++) {
            mv.visitVarInsn(Opcodes.ALOAD, 0);
            mv.visitVarInsn(Opcodes.ALOAD, 1 + i);
            mv.visitFieldInsn(Opcodes.PUTFIELD, owner, names[i], descriptors[i]);
        }
        mv.visitInsn(Opcodes.RETURN);
        mv.visitMaxs(0, 0);
        mv.visitEnd();
    }
}
