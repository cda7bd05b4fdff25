package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/payhub/payhub/graph"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hub.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func envMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestConfigFileWithEnvironmentOverrides(t *testing.T) {
	path := writeConfig(t, `
syspro: {url: http://127.0.0.1:9103/SYSPROWCFService/Rest, operator: ADMIN, operatorPassword: admin, companyId: EDU1}
cybersource:
  url: http://127.0.0.1:9102
  merchantId: payhub_sandbox
  keyId: 5f6a9f8e-2c1b-4d7e-9a3b-0c1d2e3f4a5b
  secret: cGF5aHViLXNhbmRib3gtc2hhcmVkLXNlY3JldC0zMmI=
  webhookKeys: [{id: wh-key-1, key: a2V5}]
`)
	cfg, err := loadConfig(path, envMap(map[string]string{
		"HUB_SYSPRO_OPERATORPASSWORD": "from-env",
		"HUB_SYSPRO_SEATS":            "4",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Syspro.OperatorPassword.Reveal() != "from-env" || cfg.Syspro.Seats != 4 || cfg.Syspro.Operator != "ADMIN" {
		t.Errorf("syspro = %+v", *cfg.Syspro)
	}
	if cfg.Cybersource.Auth != CybersourceAuthDefault || len(cfg.Cybersource.WebhookKeys) != 1 ||
		cfg.Cybersource.WebhookKeys[0].Key.Reveal() != "a2V5" {
		t.Errorf("cybersource = %+v", *cfg.Cybersource)
	}
	on, off := cfg.Connectors()
	if fmt.Sprint(on, off) != "[cybersource syspro] [opayo]" {
		t.Errorf("connectors on %v off %v", on, off)
	}
}

func TestConfigFromEnvironmentAloneTurnsASectionOn(t *testing.T) {
	cfg, err := loadConfig("", envMap(map[string]string{
		"HUB_OPAYO_PIURL":               "http://127.0.0.1:9101/api/v1",
		"HUB_OPAYO_INTEGRATIONKEY":      "payhubSandboxKey",
		"HUB_OPAYO_INTEGRATIONPASSWORD": "payhubSandboxPassword",
		"HUB_OPAYO_VENDOR":              "payhubsandbox",
		"HUB_CYBERSOURCE_WEBHOOKKEYS":   "k1:AAAA,k2:BBBB",
		"HUB_CYBERSOURCE_URL":           "http://127.0.0.1:9102",
		"HUB_CYBERSOURCE_MERCHANTID":    "m",
		"HUB_CYBERSOURCE_KEYID":         "k",
		"HUB_CYBERSOURCE_SECRET":        "s",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Opayo == nil || cfg.Opayo.Vendor != "payhubsandbox" || cfg.Syspro != nil {
		t.Fatalf("config = %+v", cfg)
	}
	if keys := cfg.Cybersource.WebhookKeys; len(keys) != 2 || keys[1].ID != "k2" || keys[1].Key.Reveal() != "BBBB" {
		t.Errorf("webhook keys = %+v", keys)
	}
}

func TestConfigErrorsNameEveryProblem(t *testing.T) {
	tests := []struct {
		name, file string
		env        map[string]string
		want       []string
	}{
		{"missing keys", "syspro: {url: http://x}\n", nil,
			[]string{"syspro.operator is required", "syspro.companyId is required"}},
		{"typo in a key", "syspro: {url: http://x, operater: ADMIN}\n", nil, []string{"operater"}},
		{"bad auth", "cybersource: {url: u, merchantId: m, keyId: k, secret: s, auth: basic}\n", nil,
			[]string{`cybersource.auth is "basic"`}},
		{"bad seats from env", "", map[string]string{"HUB_SYSPRO_SEATS": "many"}, []string{"HUB_SYSPRO_SEATS", "many"}},
		{"bad webhook keys from env", "", map[string]string{"HUB_CYBERSOURCE_WEBHOOKKEYS": "nokey"}, []string{"id:key"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.file != "" {
				path = writeConfig(t, tt.file)
			}
			_, err := loadConfig(path, envMap(tt.env))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestSecretsNeverPrint(t *testing.T) {
	cfg := &Config{Syspro: &SysproConfig{URL: "u", Operator: "ADMIN", OperatorPassword: "hunter2", CompanyID: "EDU1"}}
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("config", "syspro", cfg.Syspro, "password", cfg.Syspro.OperatorPassword)
	printed := fmt.Sprintf("%v %+v %s", *cfg.Syspro, *cfg.Syspro, cfg.Syspro.OperatorPassword) + logs.String()
	if strings.Contains(printed, "hunter2") {
		t.Errorf("secret printed: %s", printed)
	}
}

func TestConfigGraphQLLimits(t *testing.T) {
	// No section: every default, the rate limit on.
	cfg, err := loadConfig("", envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.GraphQL.limits(), graph.DefaultLimits(); got != want || want.RateLimit != 50 || want.RateBurst != 100 ||
		want.DepthLimit != 12 || want.ComplexityLimit != 50_000 || want.MaxBodyBytes != 1<<20 || want.APQCacheSize != 1000 {
		t.Errorf("no graphql section: %+v, want %+v", got, want)
	}

	path := writeConfig(t, `
graphql: {complexityLimit: 20000, depthLimit: 8, maxBodyBytes: 65536, rateLimit: 10, rateBurst: 20, apqCacheSize: 50}
`)
	cfg, err = loadConfig(path, envMap(map[string]string{"HUB_GRAPHQL_DEPTHLIMIT": "9"}))
	if err != nil {
		t.Fatal(err)
	}
	want := graph.Limits{ComplexityLimit: 20000, DepthLimit: 9, MaxBodyBytes: 65536, RateLimit: 10, RateBurst: 20, APQCacheSize: 50}
	if got := cfg.GraphQL.limits(); got != want {
		t.Errorf("file and env: %+v, want %+v", got, want)
	}

	// The environment alone turns the section on; what it leaves out keeps its default, and
	// rateLimit -1 turns the rate limit off (graph.Limits.RateLimit 0).
	cfg, err = loadConfig("", envMap(map[string]string{"HUB_GRAPHQL_RATELIMIT": "-1", "HUB_GRAPHQL_MAXBODYBYTES": "2097152"}))
	if err != nil {
		t.Fatal(err)
	}
	want = graph.DefaultLimits()
	want.RateLimit, want.MaxBodyBytes = 0, 2<<20
	if got := cfg.GraphQL.limits(); got != want {
		t.Errorf("env only: %+v, want %+v", got, want)
	}
	if on, _ := cfg.Connectors(); len(on) != 0 {
		t.Errorf("the graphql section counts as a connector: %v", on)
	}
}

func TestConfigGraphQLErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		name, file string
		env        map[string]string
		want       []string
	}{
		{"negative depth", "graphql: {depthLimit: -3}\n", nil,
			[]string{"graphql.depthLimit is -3; want a positive number, or 0 for the default (12)"}},
		{"every bad key at once", "graphql: {complexityLimit: -1, maxBodyBytes: -1, rateBurst: -5, apqCacheSize: -1, rateLimit: -2}\n", nil,
			[]string{"graphql.complexityLimit is -1", "graphql.maxBodyBytes is -1", "graphql.rateBurst is -5", "graphql.apqCacheSize is -1",
				"graphql.rateLimit is -2; want requests per second per API key, 0 for the default (50), or -1 for no rate limit"}},
		{"typo", "graphql: {depthLimt: 3}\n", nil, []string{"depthLimt"}},
		{"not a number from env", "", map[string]string{"HUB_GRAPHQL_MAXBODYBYTES": "1MiB"}, []string{"HUB_GRAPHQL_MAXBODYBYTES", `"1MiB" is not a whole number`}},
		{"rateLimit off is spelt -1", "", map[string]string{"HUB_GRAPHQL_RATELIMIT": "off"}, []string{"HUB_GRAPHQL_RATELIMIT", `"off" is not a whole number`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.file != "" {
				path = writeConfig(t, tt.file)
			}
			_, err := loadConfig(path, envMap(tt.env))
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), "\n") && tt.name != "typo" {
				t.Errorf("error is not one line: %q", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}
