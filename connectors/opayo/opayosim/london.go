package opayosim

import (
	"time"
	_ "time/tzdata" // Europe/London must resolve even on hosts without a zoneinfo database.
)

// london is Opayo's business time zone: Reporting dates, the same-day void rule and the midnight
// settlement run all use it.
var london = mustLoadLondon()

func mustLoadLondon() *time.Location {
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		panic("opayosim: load Europe/London: " + err.Error())
	}
	return loc
}

// Wire formats for dates.
const (
	// piTimeLayout is the ISO-8601 form Pi uses, e.g. 2015-08-11T11:45:16.285+01:00.
	piTimeLayout = "2006-01-02T15:04:05.000-07:00"
	// reportingDateLayout is what Reporting requests carry (dd/mm/yyyy HH:MM:SS).
	reportingDateLayout = "02/01/2006 15:04:05"
	// reportingStampLayout is how Reporting writes started/completed (dd/mm/yyyy HH:MM:SS.mmm).
	reportingStampLayout = "02/01/2006 15:04:05.000"
)

func piTime(t time.Time) string         { return t.In(london).Format(piTimeLayout) }
func reportingStamp(t time.Time) string { return t.In(london).Format(reportingStampLayout) }

// londonMidnight is 00:00 Europe/London on t's London calendar day.
func londonMidnight(t time.Time) time.Time {
	y, m, d := t.In(london).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, london)
}

// nextLondonMidnight is the first London midnight strictly after t's London day began.
func nextLondonMidnight(t time.Time) time.Time {
	y, m, d := t.In(london).Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, london)
}

// sameLondonDay reports whether a and b fall on the same Europe/London calendar day.
func sameLondonDay(a, b time.Time) bool {
	return londonMidnight(a).Equal(londonMidnight(b))
}
