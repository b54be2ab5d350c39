package dev.lameduck.server;

import dev.lameduck.Log;
import java.lang.instrument.Instrumentation;
import java.lang.reflect.Array;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * For an agent attached to a running JVM ({@code agentmain}): the servers that started before it came, whose
 * start advice never ran. Servers keep no registry, but their own threads lead to them: Tomcat's acceptor thread
 * runs an {@code Acceptor} that knows its endpoint, whose handler knows the protocol, its adapter the connector;
 * Jetty's pool threads run a {@code QueuedThreadPool} runner whose thread budget holds a lease per connector,
 * which knows its server. The walk follows fields of the application's objects, arrays, and the JDK's own
 * collections through their public API; it never calls the application's code.
 */
public final class Discovery {
    /** A bound on the walk: it runs once, at the attach, and a big heap must not make that slow. */
    private static final int MAX_OBJECTS = 200_000;

    private final Instrumentation instrumentation;
    private Field threadTarget;
    private boolean threadTargetLooked;

    /** @param instrumentation null: threads are walked through their own fields only, not through what they run */
    public Discovery(Instrumentation instrumentation) {
        this.instrumentation = instrumentation;
    }

    /** The loaded classes named {@code name}, or relocated copies ({@code <prefix>.name}). */
    public List<Class<?>> loaded(String name) {
        List<Class<?>> found = new ArrayList<>();
        for (Class<?> c : instrumentation.getAllLoadedClasses()) {
            if (c.getName().equals(name) || c.getName().endsWith("." + name)) {
                found.add(c);
            }
        }
        return found;
    }

    /**
     * The objects of the type {@code name} (a subclass or an implementation; relocated copies too) reachable from
     * the live threads.
     */
    public List<Object> reachableFromThreads(String name) {
        return reachable(new ArrayList<Object>(Thread.getAllStackTraces().keySet()), name, MAX_OBJECTS);
    }

    /** The object of the type {@code name} nearest to {@code root} (fewest fields away), or null. */
    public Object nearest(Object root, String name) {
        List<Object> found = reachable(Collections.singletonList(root), name, 1);
        return found.isEmpty() ? null : found.get(0);
    }

    /** The objects of the type {@code name} reachable from {@code root}, at most {@code limit}. */
    public List<Object> reachableFrom(Object root, String name, int limit) {
        return reachable(Collections.singletonList(root), name, limit);
    }

    private List<Object> reachable(List<Object> roots, String name, int limit) {
        List<Object> found = new ArrayList<>();
        Set<Object> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        Deque<Object> next = new ArrayDeque<>(roots);
        Map<Class<?>, Boolean> matches = new HashMap<>();
        while (!next.isEmpty() && seen.size() < MAX_OBJECTS) {
            Object o = next.poll();
            if (!seen.add(o)) {
                continue;
            }
            Class<?> c = o.getClass();
            Boolean match = matches.get(c);
            if (match == null) {
                match = isA(c, name);
                matches.put(c, match);
            }
            if (match) {
                found.add(o);
                if (found.size() >= limit) {
                    break;
                }
                continue;
            }
            follow(o, next);
        }
        if (seen.size() >= MAX_OBJECTS) {
            Log.debug("looking for %s: stopped after %d objects", name, MAX_OBJECTS);
        }
        return found;
    }

    private void follow(Object o, Deque<Object> next) {
        Class<?> c = o.getClass();
        if (o instanceof Thread) {
            Object target = threadTarget((Thread) o);
            if (target != null) {
                next.add(target);
            }
            if (isJdk(c)) {
                return;
            }
        } else if (c.isArray()) {
            if (!c.getComponentType().isPrimitive()) {
                for (int i = 0, n = Array.getLength(o); i < n; i++) {
                    addIfSet(Array.get(o, i), next);
                }
            }
            return;
        } else if (isJdk(c)) {
            followJdk(o, next);
            return;
        }
        for (Class<?> k = c; k != null && !isJdk(k); k = k.getSuperclass()) {
            for (Field f : k.getDeclaredFields()) {
                if (Modifier.isStatic(f.getModifiers()) || f.getType().isPrimitive()) {
                    continue;
                }
                try {
                    f.setAccessible(true);
                    addIfSet(f.get(o), next);
                } catch (RuntimeException | IllegalAccessException e) {
                    break; // a named module that does not open this package: not ours to read
                }
            }
        }
    }

    /**
     * JDK objects are opaque but for their public API: the JDK's own collections and maps, read from a copy, and a
     * selector's registered channels, by what their keys carry (XNIO's handles, which lead to Undertow's
     * listeners). Only top-level collection classes of java.util(.concurrent): a wrapper or a view
     * ({@code Collections.unmodifiableList}, {@code AbstractMap}'s key set) may stand for an application's
     * collection, whose {@code toArray} would run the application's code (a lazily loaded list, say).
     */
    private static void followJdk(Object o, Deque<Object> next) {
        String type = o.getClass().getName();
        if ((o instanceof Collection || o instanceof Map) && type.indexOf('$') >= 0
                && !type.equals("java.util.concurrent.ConcurrentHashMap$KeySetView")) {
            return;
        }
        try {
            if (o instanceof Selector) {
                for (Object key : ((Selector) o).keys().toArray()) {
                    addIfSet(((SelectionKey) key).attachment(), next);
                }
            } else if (o instanceof Collection) {
                for (Object e : ((Collection<?>) o).toArray()) {
                    addIfSet(e, next);
                }
            } else if (o instanceof Map) {
                for (Object e : ((Map<?, ?>) o).values().toArray()) {
                    addIfSet(e, next);
                }
            }
        } catch (RuntimeException e) {
            // Changed while read (a map that is not concurrent): the server is rarely only there.
        }
    }

    private static void addIfSet(Object o, Deque<Object> next) {
        if (o != null && !(o instanceof String) && !(o instanceof Number) && !(o instanceof Class) && !(o instanceof ClassLoader)) {
            next.add(o);
        }
    }

    /**
     * What a thread runs: {@code Thread.target} (JDK 8 to 20) or {@code Thread.holder.task} (JDK 21+), in
     * {@code java.lang}, which the instrumentation opens to the agent (the one thing only an agent may do).
     */
    private Object threadTarget(Thread t) {
        if (instrumentation == null) {
            return null;
        }
        try {
            if (!threadTargetLooked) {
                threadTargetLooked = true;
                openJavaLang();
                threadTarget = fieldOrNull(Thread.class, "target");
            }
            if (threadTarget != null) {
                return threadTarget.get(t);
            }
            Field holder = fieldOrNull(Thread.class, "holder");
            Object h = holder == null ? null : holder.get(t);
            Field task = h == null ? null : fieldOrNull(h.getClass(), "task");
            return task == null ? null : task.get(h);
        } catch (Exception e) {
            Log.debug("reading what thread %s runs: %s", t.getName(), e);
            return null;
        }
    }

    private static Field fieldOrNull(Class<?> type, String name) {
        try {
            Field f = type.getDeclaredField(name);
            f.setAccessible(true);
            return f;
        } catch (Exception e) {
            return null;
        }
    }

    /** JDK 9+: {@code Instrumentation.redefineModule} opens java.lang to the agent's module; JDK 8 has no modules. */
    private void openJavaLang() throws Exception {
        Method getModule;
        try {
            getModule = Class.class.getMethod("getModule");
        } catch (NoSuchMethodException java8) {
            return;
        }
        Class<?> moduleType = Class.forName("java.lang.Module");
        Object javaBase = getModule.invoke(Thread.class);
        Object agent = getModule.invoke(Discovery.class);
        Method redefine = Instrumentation.class.getMethod("redefineModule", moduleType, Set.class, Map.class, Map.class, Set.class, Map.class);
        redefine.invoke(instrumentation, javaBase, Collections.emptySet(), Collections.emptyMap(),
                Collections.singletonMap("java.lang", Collections.singleton(agent)), Collections.emptySet(), Collections.emptyMap());
    }

    private static boolean isA(Class<?> c, String name) {
        for (Class<?> k = c; k != null; k = k.getSuperclass()) {
            if (k.getName().equals(name) || k.getName().endsWith("." + name)) {
                return true;
            }
            for (Class<?> i : k.getInterfaces()) {
                if (isA(i, name)) {
                    return true;
                }
            }
        }
        return false;
    }

    private static boolean isJdk(Class<?> c) {
        return c.getClassLoader() == null || c.getName().startsWith("java.") || c.getName().startsWith("jdk.") || c.getName().startsWith("sun.");
    }
}
