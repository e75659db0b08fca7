import RollcallCore
import Testing

@Suite struct DayTests {
    @Test(arguments: [
        ("2024-02-29", "2024-02-29"), ("2023-02-29", nil), ("2026-13-01", nil), ("2026-1-01", nil),
        ("0000-00-00", nil), ("Bad Date", nil), ("2026-04-31", nil), ("1900-02-29", nil), ("2000-02-29", "2000-02-29"),
    ] as [(String, String?)])
    func parsesOnlyRealISODays(text: String, expected: String?) {
        #expect(Day(iso: text)?.description == expected)
    }

    @Test(arguments: [
        (Int64(0), "1970-01-01"), (Int64(86_399), "1970-01-01"), (Int64(86_400), "1970-01-02"),
        (Int64(-1), "1969-12-31"), (Int64(951_782_400), "2000-02-29"), (Int64(1_795_651_200), "2026-11-26"),
    ])
    func convertsEpochSecondsToUTCDays(seconds: Int64, expected: String) {
        #expect(Day(epochSeconds: seconds).description == expected)
    }

    @Test func ordersByCalendar() throws {
        let a = try #require(Day(iso: "2025-12-31"))
        let b = try #require(Day(iso: "2026-01-01"))
        #expect(a < b)
        #expect(!(b < a))
    }
}
