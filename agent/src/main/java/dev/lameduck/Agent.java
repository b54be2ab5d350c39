package dev.lameduck;

import dev.lameduck.bridge.Bridge;
import dev.lameduck.grpc.GrpcSupport;
import dev.lameduck.jetty.JettySupport;
import dev.lameduck.netty.NettySupport;
import dev.lameduck.server.Discovery;
import dev.lameduck.server.Faults;
import dev.lameduck.server.Hook;
import dev.lameduck.server.Readiness;
import dev.lameduck.server.ServerHandle;
import dev.lameduck.server.ServerSupport;
import dev.lameduck.server.Servers;
import dev.lameduck.shutdown.Trigger;
import dev.lameduck.tomcat.TomcatSupport;
import dev.lameduck.undertow.UndertowSupport;
import java.lang.instrument.Instrumentation;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The agent's entry points. {@code premain} reads the options, installs the signal handlers and the advice,
 * and never throws: whatever fails, the application starts as if the agent were absent.
 */
public final class Agent implements Bridge.Receiver {
    /** Every server the agent knows; adding a server means adding its support here. */
    private static final List<ServerSupport> ALL = Arrays.<ServerSupport>asList(new JettySupport(), new TomcatSupport(), new UndertowSupport(), new GrpcSupport(),
            new NettySupport());

    private static final AtomicBoolean installed = new AtomicBoolean();

    private final List<ServerSupport> supports;
    private final Servers servers = new Servers();
    private final Trigger trigger;

    private Agent(Config config, List<ServerSupport> supports) {
        this.supports = supports;
        this.trigger = new Trigger(config, servers);
    }

    public static void premain(String args, Instrumentation instrumentation) {
        install(args, instrumentation, true);
    }

    public static void agentmain(String args, Instrumentation instrumentation) {
        install(args, instrumentation, false);
    }

    /** {@code java -jar lameduck-agent.jar [options]}: the version and every option's effective value. */
    public static void main(String[] args) {
        Config config = Config.load(args.length > 0 ? String.join(",", args) : null);
        Log.always("lameduck " + version());
        for (String problem : config.problems()) {
            Log.always("[lameduck] " + problem);
        }
        for (Config.Setting s : config.settings()) {
            Log.always(String.format("%-26s %-10s (%s)  %s", s.name, s.value, s.source.label, s.meaning));
        }
        Log.always(config.plan());
    }

    /**
     * Options, signal handlers, and the {@link Weaver}, which weaves the hooked classes as they load (and those
     * loaded already, {@code java.lang.Runtime} at least, by retransformation). Attached to a running JVM
     * ({@code atStartup} false), the servers started before the attach are looked for too.
     */
    private static void install(String args, Instrumentation instrumentation, boolean atStartup) {
        if (!installed.compareAndSet(false, true)) {
            Log.warn("already installed; ignoring the second -javaagent");
            return;
        }
        long start = System.nanoTime();
        try {
            Config config = Config.load(args);
            Log.setLevel(config.log);
            for (String problem : config.problems()) {
                Log.warn("%s", problem);
            }
            if (!config.enabled) {
                Log.info("disabled by lameduck.enabled=false");
                return;
            }
            List<ServerSupport> supports = new ArrayList<>();
            for (ServerSupport s : ALL) {
                if (config.servers.contains(s.kind())) {
                    supports.add(s);
                }
            }
            Readiness.configure(config.readinessPaths);
            Agent agent = new Agent(config, supports);
            agent.trigger.installSignalHandlers();
            Bridge.connect(agent);
            List<Hook> hooks = Installer.hooks(config, supports);
            Faults.at("install");
            Installer.install(instrumentation, hooks, atStartup);
            Log.info("installed: %s (%d ms); %s", supports.isEmpty() ? "no server" : kinds(supports), (System.nanoTime() - start) / 1_000_000,
                    config.plan());
            if (!atStartup) {
                agent.registerStarted(new Discovery(instrumentation));
            }
        } catch (Throwable t) {
            Bridge.connect(null);
            Log.failure("installing lameduck", t);
        }
    }

    private static String kinds(List<ServerSupport> supports) {
        List<String> kinds = new ArrayList<>();
        for (ServerSupport s : supports) {
            kinds.add(s.kind());
        }
        return String.join(", ", kinds);
    }

    static String version() {
        String v = Agent.class.getPackage().getImplementationVersion();
        return v == null ? "(development)" : v;
    }

    @Override
    public boolean answerNotReady(String kind, Object request, Object response, Object callback) {
        ServerSupport support = support(kind);
        try {
            return support != null && support.answerNotReady(request, response, callback);
        } catch (Exception e) {
            Log.debug("readiness answer on %s: %s", kind, e);
            return false;
        }
    }

    private ServerSupport support(String kind) {
        for (ServerSupport s : supports) {
            if (s.kind().equals(kind)) {
                return s;
            }
        }
        return null;
    }

    /** Attached to a running JVM: the servers that started before the agent came are registered as if it had seen them start. */
    private void registerStarted(Discovery discovery) {
        for (ServerSupport support : supports) {
            try {
                for (Object server : support.started(discovery)) {
                    serverStarting(support.kind(), server);
                    serverStarted(support.kind(), server);
                }
            } catch (Throwable t) {
                Log.failure("finding the " + support.kind() + " servers started before the attach", t);
            }
        }
    }

    @Override
    public void serverStarting(String kind, Object server) {
        ServerSupport support = support(kind);
        if (support == null || servers.find(server) != null) {
            return;
        }
        try {
            long start = System.nanoTime();
            ServerHandle handle = support.prepare(server);
            if (handle == null) {
                return; // not a server after all (Netty: a client's channel, grpc-java's)
            }
            Faults.at("prepare");
            servers.register(server, Faults.inject(handle));
            Log.debug("%s prepared in %d ms", kind, (System.nanoTime() - start) / 1_000_000);
        } catch (Throwable t) {
            Log.failure("preparing " + kind + " " + server.getClass().getName() + " for a graceful shutdown", t);
        }
    }

    @Override
    public void serverStarted(String kind, Object server) {
        ServerHandle h = servers.find(server);
        if (h != null) {
            Log.info("%s registered", h.describe());
        }
    }

    @Override
    public void exitRequested(int status) {
        trigger.onExit(status);
    }
}
