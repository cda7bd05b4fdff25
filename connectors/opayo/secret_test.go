package opayo

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestSecretsNeverPrintWithAnyVerbOrEncoder(t *testing.T) {
	t.Parallel()
	card := CardDetails{CardholderName: "SAM JONES", CardNumber: testPAN, ExpiryDate: "1230", SecurityCode: testCVV}
	auth := AuthoriseRequest{VendorTxCode: "x", SecurityCode: testCVV}
	reg := ServerRegistration{VPSTxID: "{A}", SecurityKey: "IK776BWNHN"}
	var outputs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%q"} {
		outputs = append(outputs, fmt.Sprintf(verb, card), fmt.Sprintf(verb, &card), fmt.Sprintf(verb, auth), fmt.Sprintf(verb, reg), fmt.Sprintf(verb, card.CardNumber))
	}
	for _, v := range []any{card, auth, reg} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		outputs = append(outputs, string(b))
		var sb strings.Builder
		slog.New(slog.NewTextHandler(&sb, nil)).Info("x", "v", v)
		slog.New(slog.NewJSONHandler(&sb, nil)).Info("x", "v", v)
		outputs = append(outputs, sb.String())
	}
	for _, out := range outputs {
		for _, secret := range []string{testPAN, "0000000006", "IK776BWNHN", "SecurityCode:123", `"123"`} {
			if strings.Contains(out, secret) {
				t.Errorf("output %q leaks %q", out, secret)
			}
		}
	}
}

func TestConfigStringRedactsCredentials(t *testing.T) {
	t.Parallel()
	cfg := Config{PiURL: "https://pi.example/api/v1", IntegrationKey: testKey, IntegrationPassword: testPassword, Vendor: testVendor,
		ReportingURL: "https://rep.example/access/access.htm", ReportingUser: testRepUser, ReportingPassword: testRepPass}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(verb, cfg) + fmt.Sprintf(verb, &cfg)
		for _, secret := range []string{testKey, testPassword, testRepPass} {
			if strings.Contains(out, secret) {
				t.Errorf("%s of Config leaks a credential: %s", verb, out)
			}
		}
		if !strings.Contains(out, testVendor) || !strings.Contains(out, "pi.example") {
			t.Errorf("%s of Config lost the useful parts: %s", verb, out)
		}
	}
}

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"pi only", Config{PiURL: "http://127.0.0.1:9101/api/v1", Vendor: "v"}, true},
		{"reporting only", Config{ReportingURL: "https://x/access/access.htm", Vendor: "v"}, true},
		{"no vendor", Config{PiURL: "http://x/api/v1"}, false},
		{"no url", Config{Vendor: "v"}, false},
		{"relative", Config{PiURL: "/api/v1", Vendor: "v"}, false},
		{"credentials in url", Config{PiURL: "https://key:pw@x/api/v1", Vendor: "v"}, false},
		{"query", Config{ReportingURL: "https://x/access.htm?user=u", Vendor: "v"}, false},
	}
	for _, tc := range cases {
		_, err := New(tc.cfg)
		if (err == nil) != tc.ok {
			t.Errorf("%s: New error = %v, want ok=%v", tc.name, err, tc.ok)
		}
		if err != nil && strings.Contains(err.Error(), "pw@") {
			t.Errorf("%s: error leaks URL credentials: %v", tc.name, err)
		}
	}
}

func TestGatewayURLDefaultsToThePiHost(t *testing.T) {
	t.Parallel()
	c, err := New(Config{PiURL: "http://127.0.0.1:9101/api/v1", Vendor: "v"})
	if err != nil {
		t.Fatal(err)
	}
	if c.gateway != "http://127.0.0.1:9101/gateway/service" {
		t.Errorf("gateway = %q", c.gateway)
	}
}
