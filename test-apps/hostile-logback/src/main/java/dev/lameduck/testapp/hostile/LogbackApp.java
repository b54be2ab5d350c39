package dev.lameduck.testapp.hostile;

import dev.lameduck.testapp.Behaviour;
import dev.lameduck.testapp.jetty.CoreApp;
import java.io.InputStream;
import java.util.Properties;
import net.bytebuddy.ByteBuddy;
import net.bytebuddy.ClassFileVersion;
import net.bytebuddy.implementation.FixedValue;
import net.bytebuddy.matcher.ElementMatchers;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Jetty 12.1 app, in an application that has its own Byte Buddy (1.14, older than the agent's) and logs
 * through slf4j + Logback with its own configuration (logback.xml, shutdown hook on). Prints what the tests check:
 * the app's Byte Buddy works, sees none of the agent's settings, and every line has the app's own pattern.
 */
public final class LogbackApp {
    private static final Logger log = LoggerFactory.getLogger("app");

    public static void main(String[] args) throws Exception {
        Object made = new ByteBuddy(ClassFileVersion.JAVA_V8)
                .subclass(Object.class)
                .name("dev.lameduck.testapp.hostile.Made")
                .method(ElementMatchers.named("toString")).intercept(FixedValue.value("made by the app's Byte Buddy"))
                .make()
                .load(LogbackApp.class.getClassLoader())
                .getLoaded().getDeclaredConstructor().newInstance();
        log.info("byte-buddy {}: {}; net.bytebuddy.safe={}", version("net.bytebuddy", "byte-buddy"), made, System.getProperty("net.bytebuddy.safe"));
        Behaviour.logRequestsTo(log::info);
        CoreApp.main(args);
    }

    /** A library's version from the pom.properties the fat jar keeps. */
    static String version(String group, String artifact) throws Exception {
        try (InputStream in = LogbackApp.class.getResourceAsStream("/META-INF/maven/" + group + "/" + artifact + "/pom.properties")) {
            Properties p = new Properties();
            if (in != null) {
                p.load(in);
            }
            return p.getProperty("version", "?");
        }
    }
}
