package syspro_test

import (
	"context"
	"testing"

	"github.com/payhub/payhub/connectors/syspro"
)

// TestCustomerContactAndAddressRoundTripThroughTheSimulator: what ARSSCS sets, ARSQRY reads back.
func TestCustomerContactAndAddressRoundTripThroughTheSimulator(t *testing.T) {
	t.Parallel()
	c, _ := newObjectsClient(t)
	ctx := context.Background()
	addr := [5]string{"Unit 7", "Quay Street", "Bristol", "Avon", "GB"}
	if _, err := c.AddCustomer(ctx, syspro.CustomerSetup{Customer: "ADDR01", Name: "Address Co", Email: "ap@addr.example",
		Telephone: "0117 111 1111", SoldToAddr: addr, SoldPostalCode: "BS1 4XX"}); err != nil {
		t.Fatal(err)
	}
	acc, err := c.QueryCustomer(ctx, "ADDR01")
	if err != nil {
		t.Fatal(err)
	}
	if acc.Email != "ap@addr.example" || acc.Telephone != "0117 111 1111" || acc.SoldToAddr != addr || acc.SoldPostalCode != "BS1 4XX" ||
		!acc.Reported.Email || !acc.Reported.Telephone || !acc.Reported.SoldTo {
		t.Errorf("ARSQRY = %+v", acc)
	}
	if _, err := c.UpdateCustomer(ctx, syspro.CustomerSetup{Customer: "ADDR01", SoldToAddr: [5]string{"2 New Road"}}); err != nil {
		t.Fatal(err)
	}
	if acc, err = c.QueryCustomer(ctx, "ADDR01"); err != nil || acc.SoldToAddr != [5]string{"2 New Road", "Quay Street", "Bristol", "Avon", "GB"} {
		t.Errorf("after an update of line 1 only: %+v, %v", acc, err)
	}
	// WEBS01 has no e-mail or address: the leaves are there, empty.
	if acc, err = c.QueryCustomer(ctx, "WEBS01"); err != nil || acc.Email != "" || !acc.Reported.Email || acc.SoldToAddr != [5]string{} {
		t.Errorf("WEBS01 = %+v, %v", acc, err)
	}
}
