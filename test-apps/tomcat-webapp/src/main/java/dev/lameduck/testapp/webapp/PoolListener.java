package dev.lameduck.testapp.webapp;

import dev.lameduck.testapp.Behaviour;
import jakarta.servlet.ServletContextEvent;
import jakarta.servlet.ServletContextListener;

/** The web application's "pool": a JVM shutdown hook registered as the application starts, as a real one might. */
public final class PoolListener implements ServletContextListener {
    @Override
    public void contextInitialized(ServletContextEvent event) {
        Behaviour.installPool();
    }
}
