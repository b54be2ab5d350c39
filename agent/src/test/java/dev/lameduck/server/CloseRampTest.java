package dev.lameduck.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The schedule by which connections are told to go: every server follows it, so its shape is tested once here. */
class CloseRampTest {
    @AfterEach
    void backToBeforeTheLameDuck() {
        CloseRamp.reset();
    }

    @Test
    void placesAreSpreadEvenlyOverTheRamp() {
        int[] tenths = new int[10];
        for (int i = 0; i < 100_000; i++) {
            double place = CloseRamp.place(new Object());
            assertTrue(place >= 0 && place < 1, "place " + place);
            tenths[(int) (place * 10)]++;
        }
        for (int n : tenths) {
            assertTrue(n > 9_000 && n < 11_000, "about a tenth of the connections in each tenth of the ramp: " + java.util.Arrays.toString(tenths));
        }
    }

    @Test
    void noConnectionIsToldBeforeTheLameDuckAndEveryOneWhenImmediate() {
        Object connection = new Object();
        assertFalse(CloseRamp.tells(connection));
        CloseRamp.start(5000, false);
        assertTrue(CloseRamp.tells(connection));
    }

    @Test
    void graduallyTheShareToldGrowsAndAConnectionToldStaysTold() throws Exception {
        List<Object> connections = new ArrayList<>();
        for (int i = 0; i < 10_000; i++) {
            connections.add(new Object());
        }
        assertEquals(800, CloseRamp.start(1000, true), "the ramp takes 80% of the delay");
        int early = told(connections);
        assertTrue(early < 1_000, "few at the start: " + early);
        Thread.sleep(400);
        List<Object> toldMidway = new ArrayList<>();
        for (Object c : connections) {
            if (CloseRamp.tells(c)) {
                toldMidway.add(c);
            }
        }
        assertTrue(toldMidway.size() > 3_000 && toldMidway.size() < 8_000, "about half midway: " + toldMidway.size());
        Thread.sleep(100);
        assertEquals(toldMidway.size(), told(toldMidway), "told once, told for good");
        Thread.sleep(350);
        assertEquals(connections.size(), told(connections), "every one at the ramp's end");
    }

    @Test
    void onceTheLameDuckIsOverEveryConnectionIsTold() {
        CloseRamp.start(60_000, true);
        CloseRamp.everyone();
        assertTrue(CloseRamp.tells(new Object()));
    }

    @Test
    void noDelayTellsEveryConnectionAtOnce() {
        assertEquals(0, CloseRamp.start(0, true));
        assertTrue(CloseRamp.tells(new Object()));
    }

    @Test
    void everyoneIsToldOnlyWithImmediateCloseWithoutDelayAtTheRampsEndOrAfterTheLameDuck() throws Exception {
        assertFalse(CloseRamp.tellsEveryone(), "before the lame duck, no one");
        CloseRamp.start(5000, false);
        assertTrue(CloseRamp.tellsEveryone(), "immediate");
        CloseRamp.start(0, true);
        assertTrue(CloseRamp.tellsEveryone(), "no delay");
        CloseRamp.start(250, true);
        assertFalse(CloseRamp.tellsEveryone(), "a gradual ramp has begun");
        Thread.sleep(250);
        assertTrue(CloseRamp.tellsEveryone(), "its end (80% of the delay) is past");
        CloseRamp.start(60_000, true);
        CloseRamp.everyone();
        assertTrue(CloseRamp.tellsEveryone(), "the lame duck is over");
    }

    private static int told(List<Object> connections) {
        int n = 0;
        for (Object c : connections) {
            if (CloseRamp.tells(c)) {
                n++;
            }
        }
        return n;
    }
}
