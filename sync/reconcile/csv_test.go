package reconcile

import (
	"bytes"
	"encoding/csv"
	"errors"
	"slices"
	"testing"
)

func TestWriteCSV(t *testing.T) {
	lines := []Line{
		ln(1, Sale, "T1", `ORD "7", rush`, "25.01", "GBP"),
		ln(2, Refund, "", "R2", "20.00", "GBP"),
		ln(3, Sale, "T3", "", "1.00005", "GBP"),
	}
	pays := []Payment{
		pay(10, Sale, "T1", "R1", "25.00", "GBP"),
		pay(11, Refund, "", "R2", "10.00", "GBP"), pay(12, Refund, "", "R2", "5.00", "GBP"),
		pay(13, Sale, "T4", "R4", "7.50", "EUR"),
	}
	r := Reconcile(lines, pays, nil, Config{})
	if len(r.Discrepancies) != 4 {
		t.Fatalf("%d discrepancies, want 4:\n%s", len(r.Discrepancies), describe(r.Discrepancies))
	}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, r); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatalf("reading the report back: %v", err)
	}
	if len(rows) != 1+len(r.Discrepancies) {
		t.Fatalf("%d rows, want a header and %d", len(rows), len(r.Discrepancies))
	}
	if !slices.Equal(rows[0], CSVHeader()) {
		t.Errorf("header %q", rows[0])
	}
	want := [][]string{
		{"", "unmatched_payment", "", "13", "R4", "T4", "EUR", "7.50", "0.00", "-7.50", r.Discrepancies[0].Explanation},
		{"B1", "amount_mismatch", "1", "10", `ORD "7", rush`, "T1", "GBP", "25.00", "25.01", "0.01", r.Discrepancies[1].Explanation},
		{"B1", "amount_mismatch", "2", "11 12", "R2", "", "GBP", "15.00", "20.00", "5.00", r.Discrepancies[2].Explanation},
		{"B1", "invalid_input", "3", "", "", "T3", "GBP", "0.00", "1.00005", "1.00005", r.Discrepancies[3].Explanation},
	}
	for i, w := range want {
		if !slices.Equal(rows[i+1], w) {
			t.Errorf("row %d = %q\nwant     %q", i+1, rows[i+1], w)
		}
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteCSVError(t *testing.T) {
	r := Reconcile([]Line{ln(1, Sale, "T1", "", "1.00", "GBP")}, nil, nil, Config{})
	if err := WriteCSV(failingWriter{}, r); err == nil {
		t.Error("WriteCSV to a failing writer returned nil")
	}
}
