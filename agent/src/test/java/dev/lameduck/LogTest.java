package dev.lameduck;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The log's own formatting: the lines read as String.format would have written them. */
class LogTest {
    @Test
    void stringsAndNumbersAreFilledInOrder() {
        assertEquals("jetty on :8080 drained 3 in 12ms", Log.format("%s on :%d drained %d in %dms", "jetty", 8080, 3, 12L));
        assertEquals(String.format("%s: %d", null, -5), Log.format("%s: %d", null, -5));
    }

    @Test
    void aPercentSignAndUnknownOrMissingConversionsAreKept() {
        assertEquals("100% done, %x %s", Log.format("%d%% done, %x %s", 100));
        assertEquals("trailing %", Log.format("trailing %", 1));
    }
}
