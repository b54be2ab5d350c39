package dev.lameduck;

import dev.lameduck.server.Hook;
import java.lang.instrument.ClassFileTransformer;
import java.security.ProtectionDomain;
import java.util.ArrayList;
import java.util.List;
import org.objectweb.asm.ClassReader;
import org.objectweb.asm.ClassVisitor;
import org.objectweb.asm.ClassWriter;
import org.objectweb.asm.Handle;
import org.objectweb.asm.Label;
import org.objectweb.asm.MethodVisitor;
import org.objectweb.asm.Opcodes;
import org.objectweb.asm.Type;

/**
 * The agent's instrumentation: a handful of calls woven with ASM into a handful of server methods ({@link Hook}),
 * each a reflective call of {@code Bridge.event} through the system class loader, JDK types only. No advice
 * framework: its own start cost about half a second of the application's (issue 7), for what is here a few
 * dozen instructions.
 *
 * <p>The woven code never throws in practice (the bridge is loaded at install and catches everything) and, but
 * for the readiness check, has no branch, so the methods' stack map frames stay valid as they are: the only frame
 * added is the one after the readiness check, at the method's start, where the state is the method's
 * parameters. Classes are written with {@code COMPUTE_MAXS} only, which needs no class hierarchy.
 */
final class Weaver implements ClassFileTransformer {
    private static final String BRIDGE = "dev.lameduck.bridge.Bridge";
    private static final String OBJECT = "java/lang/Object";

    private final List<Hook> hooks;

    Weaver(List<Hook> hooks) {
        this.hooks = hooks;
    }

    @Override
    public byte[] transform(ClassLoader loader, String name, Class<?> classBeingRedefined, ProtectionDomain domain, byte[] bytes) {
        if (name == null) {
            return null;
        }
        List<Hook> mine = new ArrayList<>();
        for (Hook h : hooks) {
            if (h.matchesClass(name)) {
                mine.add(h);
            }
        }
        if (mine.isEmpty()) {
            return null;
        }
        try {
            ClassReader reader = new ClassReader(bytes);
            ClassWriter writer = new ClassWriter(reader, ClassWriter.COMPUTE_MAXS);
            Weaving weaving = new Weaving(writer, mine);
            reader.accept(weaving, 0);
            if (weaving.woven.isEmpty()) {
                return null;
            }
            Log.debug("instrumented %s: %s", name.replace('/', '.'), weaving.woven);
            return writer.toByteArray();
        } catch (Throwable t) {
            Log.failure("instrumenting " + name.replace('/', '.'), t);
            return null;
        }
    }

    private static final class Weaving extends ClassVisitor {
        private final List<Hook> hooks;
        final List<String> woven = new ArrayList<>();
        private int version;

        Weaving(ClassVisitor next, List<Hook> hooks) {
            super(Opcodes.ASM9, next);
            this.hooks = hooks;
        }

        @Override
        public void visit(int version, int access, String name, String signature, String superName, String[] interfaces) {
            this.version = version & 0xFFFF;
            super.visit(version, access, name, signature, superName, interfaces);
        }

        @Override
        public MethodVisitor visitMethod(int access, String name, String descriptor, String signature, String[] exceptions) {
            MethodVisitor mv = super.visitMethod(access, name, descriptor, signature, exceptions);
            boolean eligible = (access & (Opcodes.ACC_BRIDGE | Opcodes.ACC_SYNTHETIC | Opcodes.ACC_ABSTRACT | Opcodes.ACC_NATIVE)) == 0
                    && version >= Opcodes.V1_5; // class constants (ldc) need Java 5 class files
            if (!eligible) {
                return mv;
            }
            Type[] parameters = Type.getArgumentTypes(descriptor);
            List<Hook> mine = new ArrayList<>();
            for (Hook h : hooks) {
                if (h.method.equals(name) && h.parameters == parameters.length && (!h.publicOnly || (access & Opcodes.ACC_PUBLIC) != 0)
                        && fits(h, access, descriptor, parameters)) {
                    mine.add(h);
                    woven.add(name + descriptor + " " + h.where);
                }
            }
            // The readiness check last: its frame must come right before the method's own first instruction.
            mine.sort((a, b) -> Boolean.compare(a.where == Hook.Where.NOT_READY, b.where == Hook.Where.NOT_READY));
            return mine.isEmpty() ? mv : new Calls(mv, mine, descriptor, version >= Opcodes.V1_6);
        }

        /** What each kind of call needs of the method's shape; a method that lacks it is left alone. */
        private static boolean fits(Hook h, int access, String descriptor, Type[] parameters) {
            boolean instance = (access & Opcodes.ACC_STATIC) == 0;
            switch (h.where) {
                case EXIT_STATUS:
                    return instance && parameters[0] == Type.INT_TYPE;
                case NOT_READY:
                    Type returns = Type.getReturnType(descriptor);
                    for (Type p : parameters) {
                        if (p.getSort() != Type.OBJECT) {
                            return false;
                        }
                    }
                    return instance && parameters.length <= 3 && (returns == Type.VOID_TYPE || returns == Type.BOOLEAN_TYPE);
                default:
                    return instance;
            }
        }
    }

    /** Weaves the calls of one method. */
    private static final class Calls extends MethodVisitor {
        private final List<Hook> hooks;
        private final Type returns;
        private final boolean frames;
        /** The readiness check's continue label is placed; its frame goes before the method's first instruction. */
        private boolean framePending;

        Calls(MethodVisitor next, List<Hook> hooks, String descriptor, boolean frames) {
            super(Opcodes.ASM9, next);
            this.hooks = hooks;
            this.returns = Type.getReturnType(descriptor);
            this.frames = frames;
        }

        @Override
        public void visitCode() {
            super.visitCode();
            for (Hook h : hooks) {
                switch (h.where) {
                    case ENTER:
                        callWithThis(h);
                        break;
                    case EXIT_STATUS:
                        call(h, () -> {
                            mv.visitVarInsn(Opcodes.ILOAD, 1);
                            mv.visitMethodInsn(Opcodes.INVOKESTATIC, "java/lang/Integer", "valueOf", "(I)Ljava/lang/Integer;", false);
                        });
                        mv.visitInsn(Opcodes.POP);
                        break;
                    case NOT_READY:
                        notReady(h);
                        break;
                    default:
                        break;
                }
            }
        }

        /**
         * {@code if (System.getProperty("lameduck.internal.lame-duck") != null && Bridge.event("notReady", ...)) return;}
         * The property is all a request pays before the lame duck.
         */
        private void notReady(Hook h) {
            Label serve = new Label();
            mv.visitLdcInsn(dev.lameduck.server.Readiness.LAME_DUCK_PROPERTY);
            mv.visitMethodInsn(Opcodes.INVOKESTATIC, "java/lang/System", "getProperty", "(Ljava/lang/String;)Ljava/lang/String;", false);
            mv.visitJumpInsn(Opcodes.IFNULL, serve);
            Runnable[] arguments = new Runnable[h.parameters];
            for (int i = 0; i < arguments.length; i++) {
                final int slot = 1 + i; // reference parameters only (fits()), one slot each
                arguments[i] = () -> mv.visitVarInsn(Opcodes.ALOAD, slot);
            }
            call(h, arguments);
            mv.visitTypeInsn(Opcodes.CHECKCAST, "java/lang/Boolean");
            mv.visitMethodInsn(Opcodes.INVOKEVIRTUAL, "java/lang/Boolean", "booleanValue", "()Z", false);
            mv.visitJumpInsn(Opcodes.IFEQ, serve);
            if (returns == Type.BOOLEAN_TYPE) {
                mv.visitInsn(Opcodes.ICONST_1);
                mv.visitInsn(Opcodes.IRETURN);
            } else {
                mv.visitInsn(Opcodes.RETURN);
            }
            mv.visitLabel(serve);
            framePending = frames;
        }

        private void callWithThis(Hook h) {
            call(h, () -> mv.visitVarInsn(Opcodes.ALOAD, 0));
            mv.visitInsn(Opcodes.POP);
        }

        /**
         * {@code Class.forName(BRIDGE, true, ClassLoader.getSystemClassLoader()).getMethod("event", String, String,
         * Object, Object, Object).invoke(null, new Object[] {event, kind, a, b, c})}, its result left on the stack;
         * each of {@code values} pushes one of a, b, c (the others stay null).
         */
        private void call(Hook h, Runnable... values) {
            mv.visitLdcInsn(BRIDGE);
            mv.visitInsn(Opcodes.ICONST_1);
            mv.visitMethodInsn(Opcodes.INVOKESTATIC, "java/lang/ClassLoader", "getSystemClassLoader", "()Ljava/lang/ClassLoader;", false);
            mv.visitMethodInsn(Opcodes.INVOKESTATIC, "java/lang/Class", "forName", "(Ljava/lang/String;ZLjava/lang/ClassLoader;)Ljava/lang/Class;", false);
            mv.visitLdcInsn("event");
            String[] types = {"java/lang/String", "java/lang/String", OBJECT, OBJECT, OBJECT};
            pushInt(types.length);
            mv.visitTypeInsn(Opcodes.ANEWARRAY, "java/lang/Class");
            for (int i = 0; i < types.length; i++) {
                final int index = i;
                store(i, () -> mv.visitLdcInsn(Type.getObjectType(types[index])));
            }
            mv.visitMethodInsn(Opcodes.INVOKEVIRTUAL, "java/lang/Class", "getMethod", "(Ljava/lang/String;[Ljava/lang/Class;)Ljava/lang/reflect/Method;", false);
            mv.visitInsn(Opcodes.ACONST_NULL);
            pushInt(types.length);
            mv.visitTypeInsn(Opcodes.ANEWARRAY, OBJECT);
            store(0, () -> mv.visitLdcInsn(h.event));
            store(1, () -> mv.visitLdcInsn(h.kind));
            for (int i = 0; i < values.length; i++) {
                store(2 + i, values[i]);
            }
            mv.visitMethodInsn(Opcodes.INVOKEVIRTUAL, "java/lang/reflect/Method", "invoke", "(Ljava/lang/Object;[Ljava/lang/Object;)Ljava/lang/Object;", false);
        }

        /** array -> array, with array[index] = the value {@code value} pushes. */
        private void store(int index, Runnable value) {
            mv.visitInsn(Opcodes.DUP);
            pushInt(index);
            value.run();
            mv.visitInsn(Opcodes.AASTORE);
        }

        private void pushInt(int i) {
            mv.visitInsn(Opcodes.ICONST_0 + i);
        }

        @Override
        public void visitInsn(int opcode) {
            frameIfPending();
            if (opcode >= Opcodes.IRETURN && opcode <= Opcodes.RETURN) {
                for (Hook h : hooks) {
                    if (h.where == Hook.Where.EXIT) {
                        callWithThis(h);
                    }
                }
            }
            super.visitInsn(opcode);
        }

        /** The state after the readiness check is the method's entry state: same locals, empty stack. */
        private void frameIfPending() {
            if (framePending) {
                framePending = false;
                mv.visitFrame(Opcodes.F_SAME, 0, null, 0, null);
            }
        }

        @Override
        public void visitFrame(int type, int numLocal, Object[] local, int numStack, Object[] stack) {
            framePending = false; // the method's own frame at its first instruction describes the same state
            super.visitFrame(type, numLocal, local, numStack, stack);
        }

        @Override
        public void visitIntInsn(int opcode, int operand) {
            frameIfPending();
            super.visitIntInsn(opcode, operand);
        }

        @Override
        public void visitVarInsn(int opcode, int var) {
            frameIfPending();
            super.visitVarInsn(opcode, var);
        }

        @Override
        public void visitTypeInsn(int opcode, String type) {
            frameIfPending();
            super.visitTypeInsn(opcode, type);
        }

        @Override
        public void visitFieldInsn(int opcode, String owner, String name, String descriptor) {
            frameIfPending();
            super.visitFieldInsn(opcode, owner, name, descriptor);
        }

        @Override
        public void visitMethodInsn(int opcode, String owner, String name, String descriptor, boolean isInterface) {
            frameIfPending();
            super.visitMethodInsn(opcode, owner, name, descriptor, isInterface);
        }

        @Override
        public void visitInvokeDynamicInsn(String name, String descriptor, Handle bootstrap, Object... arguments) {
            frameIfPending();
            super.visitInvokeDynamicInsn(name, descriptor, bootstrap, arguments);
        }

        @Override
        public void visitJumpInsn(int opcode, Label label) {
            frameIfPending();
            super.visitJumpInsn(opcode, label);
        }

        @Override
        public void visitLdcInsn(Object value) {
            frameIfPending();
            super.visitLdcInsn(value);
        }

        @Override
        public void visitIincInsn(int var, int increment) {
            frameIfPending();
            super.visitIincInsn(var, increment);
        }

        @Override
        public void visitTableSwitchInsn(int min, int max, Label dflt, Label... labels) {
            frameIfPending();
            super.visitTableSwitchInsn(min, max, dflt, labels);
        }

        @Override
        public void visitLookupSwitchInsn(Label dflt, int[] keys, Label[] labels) {
            frameIfPending();
            super.visitLookupSwitchInsn(dflt, keys, labels);
        }

        @Override
        public void visitMultiANewArrayInsn(String descriptor, int numDimensions) {
            frameIfPending();
            super.visitMultiANewArrayInsn(descriptor, numDimensions);
        }
    }
}
