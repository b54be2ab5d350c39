package dev.lameduck.netty;

import dev.lameduck.server.Reflect;
import java.util.Map;
import java.util.WeakHashMap;
import org.objectweb.asm.ClassWriter;
import org.objectweb.asm.Label;
import org.objectweb.asm.MethodVisitor;
import org.objectweb.asm.Opcodes;

/**
 * The handler the agent puts right after each HTTP/1 connection's codec: a {@code ChannelDuplexHandler} generated
 * with ASM into Netty's own package and class loader (it extends Netty's class, which the agent's loader cannot
 * see). It overrides only what it needs, so Netty skips it for every other event (4.1, 4.2: handler masks), and
 * hands each message to the agent's {@link NettyConnection} through JDK interfaces, no reflection:
 *
 * <pre>
 * public void channelRead(ChannelHandlerContext ctx, Object msg) {
 *     if (((BiPredicate) c).test(ctx, msg)) return;          // true: the agent answered it (a readiness path)
 *     ctx.fireChannelRead(msg);
 * }
 * public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
 *     if (((BiFunction) c).apply(ctx, msg) == Boolean.TRUE) { // the last write of a response told to close
 *         ctx.write(msg, promise.unvoid()).addListener(ChannelFutureListener.CLOSE);
 *         return;
 *     }
 *     ctx.write(msg, promise);
 * }
 * public void channelInactive(ChannelHandlerContext ctx) {
 *     ((Consumer) c).accept(ctx);
 *     ctx.fireChannelInactive();
 * }
 * </pre>
 */
final class HttpObserverClass {
    private static final String NAME = "LameduckHttpObserver";
    /** One class per Netty (a relocated copy is another Netty), defined once. */
    private static final Map<Class<?>, Class<?>> defined = new WeakHashMap<>();

    private HttpObserverClass() {}

    /** The observer class for the Netty of {@code duplexHandler} ({@code io.netty.channel.ChannelDuplexHandler}, relocated or not). */
    static synchronized Class<?> of(Class<?> duplexHandler) throws Exception {
        Class<?> c = defined.get(duplexHandler);
        if (c == null) {
            String channel = duplexHandler.getName().substring(0, duplexHandler.getName().lastIndexOf('.')).replace('.', '/');
            String prefix = channel.substring(0, channel.length() - "io/netty/channel".length());
            c = Reflect.defineNextTo(duplexHandler, bytes(channel + "/" + NAME, channel, prefix));
            defined.put(duplexHandler, c);
        }
        return c;
    }

    private static byte[] bytes(String name, String channel, String prefix) {
        String ctx = "L" + channel + "/ChannelHandlerContext;";
        String promise = channel + "/ChannelPromise";
        String future = channel + "/ChannelFuture";
        String object = "Ljava/lang/Object;";
        ClassWriter cw = new ClassWriter(ClassWriter.COMPUTE_MAXS);
        cw.visit(Opcodes.V1_8, Opcodes.ACC_PUBLIC | Opcodes.ACC_FINAL | Opcodes.ACC_SUPER, name, null, channel + "/ChannelDuplexHandler", null);
        cw.visitField(Opcodes.ACC_PRIVATE | Opcodes.ACC_FINAL, "c", object, null, null).visitEnd();

        MethodVisitor mv = cw.visitMethod(Opcodes.ACC_PUBLIC, "<init>", "(" + object + ")V", null, null);
        mv.visitCode();
        mv.visitVarInsn(Opcodes.ALOAD, 0);
        mv.visitMethodInsn(Opcodes.INVOKESPECIAL, channel + "/ChannelDuplexHandler", "<init>", "()V", false);
        mv.visitVarInsn(Opcodes.ALOAD, 0);
        mv.visitVarInsn(Opcodes.ALOAD, 1);
        mv.visitFieldInsn(Opcodes.PUTFIELD, name, "c", object);
        mv.visitInsn(Opcodes.RETURN);
        mv.visitMaxs(0, 0);
        mv.visitEnd();

        mv = cw.visitMethod(Opcodes.ACC_PUBLIC, "channelRead", "(" + ctx + object + ")V", null, new String[] {"java/lang/Exception"});
        mv.visitCode();
        Label forward = new Label();
        callback(mv, name, "java/util/function/BiPredicate");
        mv.visitVarInsn(Opcodes.ALOAD, 1);
        mv.visitVarInsn(Opcodes.ALOAD, 2);
        mv.visitMethodInsn(Opcodes.INVOKEINTERFACE, "java/util/function/BiPredicate", "test", "(" + object + object + ")Z", true);
        mv.visitJumpInsn(Opcodes.IFEQ, forward);
        mv.visitInsn(Opcodes.RETURN);
        mv.visitLabel(forward);
        mv.visitFrame(Opcodes.F_SAME, 0, null, 0, null);
        mv.visitVarInsn(Opcodes.ALOAD, 1);
        mv.visitVarInsn(Opcodes.ALOAD, 2);
        mv.visitMethodInsn(Opcodes.INVOKEINTERFACE, channel + "/ChannelHandlerContext", "fireChannelRead", "(" + object + ")" + ctx, true);
        mv.visitInsn(Opcodes.POP);
        mv.visitInsn(Opcodes.RETURN);
        mv.visitMaxs(0, 0);
        mv.visitEnd();

        mv = cw.visitMethod(Opcodes.ACC_PUBLIC, "write", "(" + ctx + object + "L" + promise + ";)V", null, new String[] {"java/lang/Exception"});
        mv.visitCode();
        Label plain = new Label();
        callback(mv, name, "java/util/function/BiFunction");
        mv.visitVarInsn(Opcodes.ALOAD, 1);
        mv.visitVarInsn(Opcodes.ALOAD, 2);
        mv.visitMethodInsn(Opcodes.INVOKEINTERFACE, "java/util/function/BiFunction", "apply", "(" + object + object + ")" + object, true);
        mv.visitFieldInsn(Opcodes.GETSTATIC, "java/lang/Boolean", "TRUE", "Ljava/lang/Boolean;");
        mv.visitJumpInsn(Opcodes.IF_ACMPNE, plain);
        mv.visitVarInsn(Opcodes.ALOAD, 1);
        mv.visitVarInsn(Opcodes.ALOAD, 2);
        mv.visitVarInsn(Opcodes.ALOAD, 3);
        mv.visitMethodInsn(Opcodes.INVOKEINTERFACE, promise, "unvoid", "()L" + promise + ";", true);
        mv.visitMethodInsn(Opcodes.INVOKEINTERFACE, channel + "/ChannelHandlerContext", "write", "(" + object + "L" + promise + ";)L" + future + ";", true);
        mv.visitFieldInsn(Opcodes.GETSTATIC, channel + "/ChannelFutureListener", "CLOSE", "L" + channel + "/ChannelFutureListener;");
        mv.visitMethodInsn(Opcodes.INVOKEINTERFACE, future, "addListener", "(L" + prefix + "io/netty/util/concurrent/GenericFutureListener;)L" + future + ";", true);
        mv.visitInsn(Opcodes.POP);
        mv.visitInsn(Opcodes.RETURN);
        mv.visitLabel(plain);
        mv.visitFrame(Opcodes.F_SAME, 0, null, 0, null);
        mv.visitVarInsn(Opcodes.ALOAD, 1);
        mv.visitVarInsn(Opcodes.ALOAD, 2);
        mv.visitVarInsn(Opcodes.ALOAD, 3);
        mv.visitMethodInsn(Opcodes.INVOKEINTERFACE, channel + "/ChannelHandlerContext", "write", "(" + object + "L" + promise + ";)L" + future + ";", true);
        mv.visitInsn(Opcodes.POP);
        mv.visitInsn(Opcodes.RETURN);
        mv.visitMaxs(0, 0);
        mv.visitEnd();

        mv = cw.visitMethod(Opcodes.ACC_PUBLIC, "channelInactive", "(" + ctx + ")V", null, new String[] {"java/lang/Exception"});
        mv.visitCode();
        callback(mv, name, "java/util/function/Consumer");
        mv.visitVarInsn(Opcodes.ALOAD, 1);
        mv.visitMethodInsn(Opcodes.INVOKEINTERFACE, "java/util/function/Consumer", "accept", "(" + object + ")V", true);
        mv.visitVarInsn(Opcodes.ALOAD, 1);
        mv.visitMethodInsn(Opcodes.INVOKEINTERFACE, channel + "/ChannelHandlerContext", "fireChannelInactive", "()" + ctx, true);
        mv.visitInsn(Opcodes.POP);
        mv.visitInsn(Opcodes.RETURN);
        mv.visitMaxs(0, 0);
        mv.visitEnd();

        cw.visitEnd();
        return cw.toByteArray();
    }

    /** Pushes {@code (type) this.c}. */
    private static void callback(MethodVisitor mv, String owner, String type) {
        mv.visitVarInsn(Opcodes.ALOAD, 0);
        mv.visitFieldInsn(Opcodes.GETFIELD, owner, "c", "Ljava/lang/Object;");
        mv.visitTypeInsn(Opcodes.CHECKCAST, type);
    }
}
