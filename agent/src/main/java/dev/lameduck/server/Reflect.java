package dev.lameduck.server;

import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;

/**
 * Calls into server objects by name, since the agent is built against no server version and the server may
 * be relocated. Public methods are looked up through the object's class hierarchy, so that a public method of
 * a non-public class (common in servers' internals) is still callable.
 */
public final class Reflect {
    private Reflect() {}

    /** Calls a method by name and argument count; throws what the call throws. */
    public static Object call(Object target, String name, Object... args) throws Exception {
        Method m = find(target.getClass(), name, args);
        if (m == null) {
            throw new NoSuchMethodException(target.getClass().getName() + "." + name + "/" + args.length);
        }
        return m.invoke(target, args);
    }

    /** Like {@link #call}, for a step that must happen: failures become an exception naming the method. */
    public static Object require(Object target, String name, Object... args) {
        try {
            return call(target, name, args);
        } catch (InvocationTargetException e) {
            throw new IllegalStateException(name + ": " + e.getCause(), e.getCause());
        } catch (Exception e) {
            throw new IllegalStateException(name + ": " + e, e);
        }
    }

    /** A field's value, found up the class hierarchy whatever its access; null when missing or unreadable. */
    public static Object field(Object owner, String name) {
        try {
            return owner == null ? null : findField(owner.getClass(), name).get(owner);
        } catch (Exception e) {
            return null;
        }
    }

    /** Finds a field up the class hierarchy and makes it accessible (final instance fields included). */
    public static Field findField(Class<?> type, String name) throws NoSuchFieldException {
        for (Class<?> c = type; c != null; c = c.getSuperclass()) {
            try {
                Field f = c.getDeclaredField(name);
                f.setAccessible(true);
                return f;
            } catch (NoSuchFieldException ignored) {
                // Keep looking up the hierarchy.
            }
        }
        throw new NoSuchFieldException(type.getName() + "." + name);
    }

    /** Like {@link #call}, but null when the method is missing or fails: for optional, best-effort facts. */
    public static Object tryCall(Object target, String name, Object... args) {
        if (target == null) {
            return null;
        }
        try {
            return call(target, name, args);
        } catch (Throwable t) {
            return null;
        }
    }

    /** Whether {@code type} or a superclass of it is the class named, relocated or not (its name ends with the name). */
    public static boolean isA(Class<?> type, String name) {
        for (Class<?> c = type; c != null; c = c.getSuperclass()) {
            if (c.getName().endsWith(name)) {
                return true;
            }
        }
        return false;
    }

    public static boolean has(Object target, String name, Object... args) {
        return target != null && find(target.getClass(), name, args) != null;
    }

    /** Finds a method by name that takes these arguments, public first, then declared (made accessible). */
    public static Method find(Class<?> type, String name, Object... args) {
        for (Method m : type.getMethods()) {
            if (m.getName().equals(name) && accepts(m, args)) {
                return accessible(m);
            }
        }
        for (Class<?> c = type; c != null; c = c.getSuperclass()) {
            for (Method m : c.getDeclaredMethods()) {
                if (m.getName().equals(name) && accepts(m, args)) {
                    return accessible(m);
                }
            }
        }
        return null;
    }

    private static boolean accepts(Method m, Object[] args) {
        Class<?>[] types = m.getParameterTypes();
        if (types.length != args.length) {
            return false;
        }
        for (int i = 0; i < types.length; i++) {
            if (args[i] != null && !box(types[i]).isInstance(args[i])) {
                return false;
            }
        }
        return true;
    }

    private static Class<?> box(Class<?> t) {
        if (!t.isPrimitive()) {
            return t;
        }
        return t == boolean.class ? Boolean.class : t == int.class ? Integer.class : t == long.class ? Long.class
                : t == double.class ? Double.class : t == float.class ? Float.class : t == short.class ? Short.class
                : t == byte.class ? Byte.class : Character.class;
    }

    private static Method accessible(Method m) {
        try {
            m.setAccessible(true);
        } catch (RuntimeException ignored) {
            // Public methods of public classes work without it; others fail later with a clear exception.
        }
        return m;
    }

    /** Loads a class by its unrelocated name, next to a known class of the same server. */
    public static Class<?> sibling(Object known, String knownName, String wantedName) throws ClassNotFoundException {
        Class<?> c = known.getClass();
        while (c != null && !c.getName().endsWith(knownName)) {
            c = c.getSuperclass();
        }
        String prefix = c == null ? "" : c.getName().substring(0, c.getName().length() - knownName.length());
        return Class.forName(prefix + wantedName, false, known.getClass().getClassLoader() != null
                ? known.getClass().getClassLoader() : ClassLoader.getSystemClassLoader());
    }

    /**
     * A call by name whose method is looked up once, not on every call: for the paths each request takes in the
     * lame duck. Looked up again only for a receiver the method does not fit (another server's classes).
     */
    public static final class Call {
        private final String name;
        private volatile Method method;

        public Call(String name) {
            this.name = name;
        }

        /** Calls the method on {@code target}; throws what the call throws, unwrapped. */
        public Object on(Object target, Object... args) throws Exception {
            Method m = method;
            if (m == null || !m.getDeclaringClass().isInstance(target)) {
                m = find(target.getClass(), name, args);
                if (m == null) {
                    throw new NoSuchMethodException(target.getClass().getName() + "." + name + "/" + args.length);
                }
                method = m;
            }
            try {
                return m.invoke(target, args);
            } catch (InvocationTargetException e) {
                throw e.getCause() instanceof Exception ? (Exception) e.getCause() : e;
            }
        }
    }

    /** Calls {@code method} on {@code target} for a proxy that forwards it; throws what the call throws, unwrapped. */
    public static Object forward(Method method, Object target, Object[] args) throws Throwable {
        try {
            return method.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    /**
     * Defines a class in the package and loader of {@code neighbour} (for classes generated to implement or extend a
     * server's types, which the agent's class loader cannot see): {@code Lookup.defineClass} on JDK 9+ (through
     * reflection: the agent is compiled for Java 8), {@code ClassLoader.defineClass} on 8.
     */
    public static Class<?> defineNextTo(Class<?> neighbour, byte[] bytes) throws Exception {
        try {
            Method privateLookupIn = java.lang.invoke.MethodHandles.class.getMethod("privateLookupIn", Class.class, java.lang.invoke.MethodHandles.Lookup.class);
            Object lookup = privateLookupIn.invoke(null, neighbour, java.lang.invoke.MethodHandles.lookup());
            return (Class<?>) java.lang.invoke.MethodHandles.Lookup.class.getMethod("defineClass", byte[].class).invoke(lookup, (Object) bytes);
        } catch (NoSuchMethodException java8) {
            Method defineClass = ClassLoader.class.getDeclaredMethod("defineClass", byte[].class, int.class, int.class);
            defineClass.setAccessible(true);
            return (Class<?>) defineClass.invoke(neighbour.getClassLoader(), bytes, 0, bytes.length);
        }
    }
}
