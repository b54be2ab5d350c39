package dev.lameduck.undertow;

import io.undertow.server.ExchangeCompletionListener;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What the agent adds to each Undertow request before any shutdown (issue 7): one exchange through the root
 * handler and its completion, without the agent, with the agent's generated counting handler, and with the
 * former wrapper (a Proxy noting each exchange in a map, calling through reflection), for comparison. Each
 * operation creates an exchange, as a request does. Run: {@code java -jar microbench/target/benchmarks.jar}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@Threads(2)
public class UndertowRequestPathBenchmark {
    private static final ExchangeCompletionListener.NextListener END = () -> { };

    private final HttpHandler app = exchange -> { };
    private HttpHandler counted;
    private ExchangeCompletionListener countedDone;
    private HttpHandler former;
    private ExchangeCompletionListener formerDone;

    @Setup
    public void setUp() throws Exception {
        Counting counting = new Counting(HttpHandler.class);
        counted = (HttpHandler) counting.wrap(app);
        countedDone = (ExchangeCompletionListener) counting.done;
        Former f = new Former(app);
        former = f.handler;
        formerDone = f.done;
    }

    @Benchmark
    public HttpServerExchange withoutTheAgent() throws Exception {
        HttpServerExchange exchange = new HttpServerExchange(null);
        app.handleRequest(exchange);
        return exchange;
    }

    @Benchmark
    public HttpServerExchange withTheAgent() throws Exception {
        HttpServerExchange exchange = new HttpServerExchange(null);
        counted.handleRequest(exchange);
        countedDone.exchangeEvent(exchange, END);
        return exchange;
    }

    @Benchmark
    public HttpServerExchange withTheFormerProxyWrapper() throws Exception {
        HttpServerExchange exchange = new HttpServerExchange(null);
        former.handleRequest(exchange);
        formerDone.exchangeEvent(exchange, END);
        return exchange;
    }

    /** The wrapper as it was before the generated classes: a Proxy, a map entry per exchange, reflective calls. */
    private static final class Former {
        final Map<Object, Long> exchanges = new ConcurrentHashMap<>();
        final AtomicLong completed = new AtomicLong();
        final HttpHandler handler;
        final ExchangeCompletionListener done;

        Former(HttpHandler next) throws Exception {
            Method handleRequest = HttpHandler.class.getMethod("handleRequest", HttpServerExchange.class);
            Method addListener = HttpServerExchange.class.getMethod("addExchangeCompleteListener", ExchangeCompletionListener.class);
            Method proceed = ExchangeCompletionListener.NextListener.class.getMethod("proceed");
            done = (ExchangeCompletionListener) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {ExchangeCompletionListener.class},
                    (proxy, method, args) -> {
                        exchanges.remove(args[0]);
                        completed.incrementAndGet();
                        proceed.invoke(args[1]);
                        return null;
                    });
            handler = (HttpHandler) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {HttpHandler.class}, (proxy, method, args) -> {
                if (exchanges.putIfAbsent(args[0], System.nanoTime()) == null) {
                    addListener.invoke(args[0], done);
                }
                try {
                    return handleRequest.invoke(next, args[0]);
                } catch (InvocationTargetException e) {
                    throw e.getCause();
                }
            });
        }
    }
}
