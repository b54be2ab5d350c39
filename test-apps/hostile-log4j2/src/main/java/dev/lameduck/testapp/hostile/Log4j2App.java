package dev.lameduck.testapp.hostile;

import dev.lameduck.testapp.Behaviour;
import dev.lameduck.testapp.undertow.UndertowApp;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * The Undertow 2.3 app logging through Log4j2 (log4j2.xml), whose default shutdown hook stops the logger
 * context: a line logged after that hook is lost.
 */
public final class Log4j2App {
    private static final Logger log = LogManager.getLogger("app");

    public static void main(String[] args) throws Exception {
        log.info("log4j2 configured by the app");
        Behaviour.logRequestsTo(log::info);
        UndertowApp.main(args);
    }
}
