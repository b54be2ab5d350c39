package dev.lameduck.shutdown;

import java.lang.reflect.Method;
import java.lang.reflect.Proxy;

/**
 * {@code sun.misc.Signal}, reached by reflection: {@code javac --release 8} does not expose it, yet it is there
 * on every JDK from 8 to 25 (module jdk.unsupported since 9).
 */
final class Signals {
    /** What to do when a signal arrives: its name ("TERM"), number, and the handler it replaced. */
    interface Handler {
        void handle(String name, int number, Runnable previous);
    }

    private Signals() {}

    /** Installs {@code handler} for the signal; the previous handler is passed along to be chained. */
    static void handle(String name, Handler handler) throws Exception {
        Class<?> signalClass = Class.forName("sun.misc.Signal");
        Class<?> handlerClass = Class.forName("sun.misc.SignalHandler");
        Method install = signalClass.getMethod("handle", signalClass, handlerClass);
        Method chain = handlerClass.getMethod("handle", signalClass);
        Object defaultHandler = handlerClass.getField("SIG_DFL").get(null);
        Object ignoreHandler = handlerClass.getField("SIG_IGN").get(null);
        Object signal = signalClass.getConstructor(String.class).newInstance(name);
        int number = (Integer) signalClass.getMethod("getNumber").invoke(signal);
        Object[] previous = new Object[1];
        Object proxy = Proxy.newProxyInstance(Signals.class.getClassLoader(), new Class<?>[] {handlerClass}, (self, method, args) -> {
            if (!method.getName().equals("handle")) {
                return method.getName().equals("hashCode") ? System.identityHashCode(self)
                        : method.getName().equals("equals") ? self == args[0] : "lameduck SIG" + name;
            }
            Object before = previous[0];
            boolean chainable = before != null && before != defaultHandler && before != ignoreHandler;
            handler.handle(name, number, chainable ? () -> invoke(chain, before, signal) : null);
            return null;
        });
        previous[0] = install.invoke(null, signal, proxy);
    }

    private static void invoke(Method chain, Object handler, Object signal) {
        try {
            chain.invoke(handler, signal);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }
}
