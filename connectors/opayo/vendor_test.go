package opayo_test

import (
	"testing"

	"github.com/payhub/payhub/connectors/opayo"
)

func TestClientVendorIsTheConfiguredVendorForNotificationVerification(t *testing.T) {
	t.Parallel()
	c, err := opayo.New(opayo.Config{Vendor: "PayhubSandbox", ReportingURL: "https://sandbox.opayo.eu.elavon.com/access/access.htm"})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Vendor(); got != "PayhubSandbox" {
		t.Errorf("Vendor() = %q, want the configured name unchanged (Verify lower-cases it)", got)
	}
}
