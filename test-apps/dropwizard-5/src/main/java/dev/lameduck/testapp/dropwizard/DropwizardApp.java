package dev.lameduck.testapp.dropwizard;

import dev.lameduck.testapp.Behaviour;
import dev.lameduck.testapp.servlet.EndpointServlet;
import io.dropwizard.core.Application;
import io.dropwizard.core.Configuration;
import io.dropwizard.core.setup.Environment;
import jakarta.servlet.ServletRegistration;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.eclipse.jetty.server.ServerConnector;

/** The endpoints in a Dropwizard 5 app, started with its own {@code server config.yml} command. */
public final class DropwizardApp extends Application<Configuration> {
    public static void main(String[] args) throws Exception {
        Behaviour.installPool();
        Path config = Files.createTempFile("dropwizard-", ".yml");
        config.toFile().deleteOnExit();
        Files.write(config, String.join("\n",
                "server:",
                "  type: simple",
                "  rootPath: /api/",
                "  applicationContextPath: /",
                "  connector:",
                "    type: http",
                "    port: " + Behaviour.port(args),
                "logging:",
                "  level: WARN",
                "").getBytes(StandardCharsets.UTF_8));
        new DropwizardApp().run("server", config.toString());
    }

    @Override
    public void run(Configuration configuration, Environment environment) {
        ServletRegistration.Dynamic endpoints = environment.servlets().addServlet("endpoints", new EndpointServlet());
        endpoints.setAsyncSupported(true);
        endpoints.addMapping("/health", "/work", "/async", "/exit", "/hang", "/stream", "/download", "/upload", "/sse");
        environment.lifecycle().addServerLifecycleListener(server -> Behaviour.listening(((ServerConnector) server.getConnectors()[0]).getLocalPort()));
    }
}
