package syspro

import "testing"

// TestCustomerAccountReportsOnlyTheContactLeavesItSaw covers the ARSQRY leaves no capture
// confirms (Email, Telephone, SoldToAddr1..5, SoldPostalCode): present ones are read, possibly
// empty, and missing ones are flagged as not reported so that a caller does not mistake an
// installation that leaves them out for a customer without them.
func TestCustomerAccountReportsOnlyTheContactLeavesItSaw(t *testing.T) {
	t.Parallel()
	full := "<ARStatement><Header><Customer>C1</Customer><CustomerName>Acme</CustomerName><Email> ap@acme.example </Email>" +
		"<Telephone/><SoldToAddr1>1 Quay St</SoldToAddr1><SoldToAddr2/><SoldToAddr3>Bristol</SoldToAddr3>" +
		"<SoldToAddr4/><SoldToAddr5>GB</SoldToAddr5><SoldPostalCode>BS1 4XX</SoldPostalCode></Header></ARStatement>"
	resp, err := ParseResponse([]byte(full))
	if err != nil {
		t.Fatal(err)
	}
	acc := parseCustomerAccount(resp)
	if acc.Email != "ap@acme.example" || acc.Telephone != "" || acc.SoldToAddr != [5]string{"1 Quay St", "", "Bristol", "", "GB"} ||
		acc.SoldPostalCode != "BS1 4XX" {
		t.Errorf("account = %+v", acc)
	}
	if acc.Reported != (CustomerFieldsReported{Email: true, Telephone: true, SoldTo: true}) {
		t.Errorf("reported = %+v, want all", acc.Reported)
	}

	bare := "<ARStatement><Header><Customer>C1</Customer><CustomerName>Acme</CustomerName></Header></ARStatement>"
	if resp, err = ParseResponse([]byte(bare)); err != nil {
		t.Fatal(err)
	}
	if acc := parseCustomerAccount(resp); acc.Reported != (CustomerFieldsReported{}) {
		t.Errorf("reported = %+v for an output without contact leaves", acc.Reported)
	}
}
