package main

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/payhub/payhub/graph"
	hubsync "github.com/payhub/payhub/sync"
)

// Config is the configuration of `hub serve`: a YAML file (--config / HUB_CONFIG) whose every key
// can also be set, or overridden, by an environment variable HUB_<SECTION>_<KEY>
// (HUB_SYSPRO_OPERATORPASSWORD). A connector whose section is absent is off.
type Config struct {
	Cybersource *CybersourceConfig `yaml:"cybersource"`
	Opayo       *OpayoConfig       `yaml:"opayo"`
	Syspro      *SysproConfig      `yaml:"syspro"`
	Sync        *SyncConfig        `yaml:"sync"`
	GraphQL     *GraphQLConfig     `yaml:"graphql"`
	Settlement  *SettlementConfig  `yaml:"settlement"`
	// Fraud is the fraud policy (sync.FraudPolicy): what risk signals hold or reject a payment.
	Fraud *hubsync.FraudPolicy `yaml:"fraud"`
}

// CybersourceConfig reaches the Cybersource REST API.
type CybersourceConfig struct {
	URL        string `yaml:"url"`
	MerchantID string `yaml:"merchantId"`
	KeyID      string `yaml:"keyId"`
	Secret     Secret `yaml:"secret"`
	// Auth is http_signature (the default) or jwt.
	Auth string `yaml:"auth"`
	// WebhookKeys verify v-c-signature; several at once while a key is rotated. By environment:
	// HUB_CYBERSOURCE_WEBHOOKKEYS="id1:key1,id2:key2".
	WebhookKeys []WebhookKey `yaml:"webhookKeys"`
}

// WebhookKey is one Cybersource webhook signing key.
type WebhookKey struct {
	ID  string `yaml:"id"`
	Key Secret `yaml:"key"`
}

// OpayoConfig reaches Opayo Pi and the Reporting & Admin API.
type OpayoConfig struct {
	PiURL               string `yaml:"piUrl"`
	IntegrationKey      string `yaml:"integrationKey"`
	IntegrationPassword Secret `yaml:"integrationPassword"`
	Vendor              string `yaml:"vendor"`
	ReportingURL        string `yaml:"reportingUrl"`
	ReportingUser       string `yaml:"reportingUser"`
	ReportingPassword   Secret `yaml:"reportingPassword"`
}

// SysproConfig reaches SYSPRO e.net Solutions' REST service.
type SysproConfig struct {
	URL              string `yaml:"url"`
	Operator         string `yaml:"operator"`
	OperatorPassword Secret `yaml:"operatorPassword"`
	CompanyID        string `yaml:"companyId"`
	CompanyPassword  Secret `yaml:"companyPassword"`
	// Seats is how many SYSPRO sessions (licences) the hub may hold at once.
	Seats int `yaml:"seats"`
}

// SyncConfig tunes the sync engine; every key is optional.
type SyncConfig struct {
	// CreateCustomers lets the hub add customers SYSPRO does not know (ARSSCS) instead of
	// dead-lettering their orders as "invalid customer".
	CreateCustomers bool `yaml:"createCustomers"`
	// ArPaymentAt is when a captured payment becomes a SYSPRO AR receipt: "capture" (once its
	// order is in SYSPRO; the default) or "ship" (once SYSPRO reports the order shipped).
	ArPaymentAt string `yaml:"arPaymentAt"`
	// DefaultWarehouse is the warehouse of order lines that name none ("FG").
	DefaultWarehouse string `yaml:"defaultWarehouse"`
	// PollInterval is how often gateways are polled for what webhooks missed ("1m").
	PollInterval string `yaml:"pollInterval"`
	// StatusInterval is how often SYSPRO is asked about open orders ("5m").
	StatusInterval string `yaml:"statusInterval"`
	// RetryBase and RetryMax bound the exponential backoff of transient failures ("1s", "10m").
	RetryBase string `yaml:"retryBase"`
	RetryMax  string `yaml:"retryMax"`
	// RescueAfter is how long a job may run before it is presumed lost with its hub and given to
	// another ("5m"); keep it above the longest job.
	RescueAfter string `yaml:"rescueAfter"`
	// OpayoRedirectURL is where Opayo sends the shopper after a Server-protocol payment; the
	// hub adds vendorTxCode and status as query parameters.
	OpayoRedirectURL string `yaml:"opayoRedirectUrl"`
}

// applyTo copies the sync tuning onto the engine's configuration. The durations were checked
// by validate.
func (s *SyncConfig) applyTo(ecfg *hubsync.Config) {
	if s == nil {
		return
	}
	ecfg.CreateCustomers, ecfg.DefaultWarehouse, ecfg.ArPaymentAt = s.CreateCustomers, s.DefaultWarehouse, s.ArPaymentAt
	d, _ := s.durations()
	ecfg.PollInterval, ecfg.StatusInterval, ecfg.RescueAfter = d["pollInterval"], d["statusInterval"], d["rescueAfter"]
	def := hubsync.BackoffDefault
	ecfg.Backoff = hubsync.Backoff{Base: cmp.Or(d["retryBase"], def.Base), Max: cmp.Or(d["retryMax"], def.Max)}
}

// durations parses the duration keys that are set.
func (s *SyncConfig) durations() (map[string]time.Duration, error) {
	out := map[string]time.Duration{}
	if s == nil {
		return out, nil
	}
	for key, v := range map[string]string{"pollInterval": s.PollInterval, "statusInterval": s.StatusInterval,
		"retryBase": s.RetryBase, "retryMax": s.RetryMax, "rescueAfter": s.RescueAfter} {
		if v == "" {
			continue
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("sync.%s is %q; want a positive duration such as 30s or 5m", key, v)
		}
		out[key] = d
	}
	return out, nil
}

// GraphQLConfig sets the limits of the GraphQL API (see graph.Limits); every key is optional, and
// 0 (or absent) means the default.
type GraphQLConfig struct {
	// ComplexityLimit caps an operation's cost (50000).
	ComplexityLimit int `yaml:"complexityLimit"`
	// DepthLimit caps how deep an operation nests fields (12); introspection is exempt.
	DepthLimit int `yaml:"depthLimit"`
	// MaxBodyBytes caps a request body and a websocket message (1048576).
	MaxBodyBytes int `yaml:"maxBodyBytes"`
	// RateLimit is how many requests per second each API key (each address, without a key) may
	// make in this process (50); RateLimitOff (-1) turns the rate limit off.
	RateLimit int `yaml:"rateLimit"`
	// RateBurst is how many requests a key may make at once above the rate (100).
	RateBurst int `yaml:"rateBurst"`
	// APQCacheSize is how many automatic persisted queries are kept (1000).
	APQCacheSize int `yaml:"apqCacheSize"`
}

// RateLimitOff as graphql.rateLimit turns the API's rate limit off.
const RateLimitOff = -1

// limits turns the section into the API's limits: the defaults, with what the section sets.
// Its values were checked by validate.
func (g *GraphQLConfig) limits() graph.Limits {
	l := graph.DefaultLimits()
	if g == nil {
		return l
	}
	l.ComplexityLimit = cmp.Or(g.ComplexityLimit, l.ComplexityLimit)
	l.DepthLimit = cmp.Or(g.DepthLimit, l.DepthLimit)
	l.MaxBodyBytes = cmp.Or(int64(g.MaxBodyBytes), l.MaxBodyBytes)
	l.RateBurst = cmp.Or(g.RateBurst, l.RateBurst)
	l.APQCacheSize = cmp.Or(g.APQCacheSize, l.APQCacheSize)
	switch {
	case g.RateLimit == RateLimitOff:
		l.RateLimit = 0 // graph.Limits: no rate limit
	case g.RateLimit > 0:
		l.RateLimit = g.RateLimit
	}
	return l
}

// problems names the section's bad values.
func (g *GraphQLConfig) problems() []string {
	if g == nil {
		return nil
	}
	def := graph.DefaultLimits()
	var out []string
	for _, k := range []struct {
		key   string
		value int
		def   int64
	}{
		{"complexityLimit", g.ComplexityLimit, int64(def.ComplexityLimit)},
		{"depthLimit", g.DepthLimit, int64(def.DepthLimit)},
		{"maxBodyBytes", g.MaxBodyBytes, def.MaxBodyBytes},
		{"rateBurst", g.RateBurst, int64(def.RateBurst)},
		{"apqCacheSize", g.APQCacheSize, int64(def.APQCacheSize)},
	} {
		if k.value < 0 {
			out = append(out, fmt.Sprintf("graphql.%s is %d; want a positive number, or 0 for the default (%d)", k.key, k.value, k.def))
		}
	}
	if g.RateLimit < RateLimitOff {
		out = append(out, fmt.Sprintf("graphql.rateLimit is %d; want requests per second per API key, 0 for the default (%d), or -1 for no rate limit",
			g.RateLimit, def.RateLimit))
	}
	return out
}

// Secret is a credential: it prints as [redacted] in logs, errors and %v.
type Secret string

// String hides the secret.
func (Secret) String() string { return "[redacted]" }

// LogValue hides the secret from slog.
func (Secret) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// Reveal returns the credential itself, for the one place that sends it.
func (s Secret) Reveal() string { return string(s) }

// Defaults that fill keys a section leaves out.
const (
	CybersourceAuthDefault = "http_signature"
	SysproSeatsDefault     = 1
)

// loadConfig reads path (may be empty: environment only), applies HUB_* overrides from env,
// fills defaults and checks that every connector that is on has what it needs.
func loadConfig(path string, env func(string) (string, bool)) (*Config, error) {
	cfg := &Config{}
	if path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		if err := yaml.UnmarshalWithOptions(raw, cfg, yaml.Strict()); err != nil {
			return nil, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if err := applyEnv(cfg, env); err != nil {
		return nil, err
	}
	cfg.fillDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// applyEnv sets every HUB_<SECTION>_<KEY> present in the environment, turning a section on if
// the file left it out.
func applyEnv(cfg *Config, env func(string) (string, bool)) error {
	root := reflect.ValueOf(cfg).Elem()
	for i := range root.NumField() {
		sectionName := yamlName(root.Type().Field(i))
		section := root.Field(i) // a pointer to the section struct
		typ := section.Type().Elem()
		for j := range typ.NumField() {
			field := typ.Field(j)
			name := "HUB_" + strings.ToUpper(sectionName) + "_" + strings.ToUpper(yamlName(field))
			value, ok := env(name)
			if !ok {
				continue
			}
			if section.IsNil() {
				section.Set(reflect.New(typ))
			}
			if err := setFromEnv(section.Elem().Field(j), value); err != nil {
				return fmt.Errorf("config: %s: %w", name, err)
			}
		}
	}
	return nil
}

func setFromEnv(v reflect.Value, value string) error {
	switch v.Kind() {
	case reflect.String:
		v.SetString(value)
	case reflect.Int:
		n, err := strconv.Atoi(value)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", value)
		}
		v.SetInt(int64(n))
	case reflect.Bool:
		b, err := strconv.ParseBool(value)
		if err != nil {
			return fmt.Errorf("%q is not true or false", value)
		}
		v.SetBool(b)
	case reflect.Slice: // webhook keys: id:key,id:key
		if v.Type() != reflect.TypeFor[[]WebhookKey]() {
			return errors.New("is a list: set it in the configuration file")
		}
		var keys []WebhookKey
		for _, pair := range strings.Split(value, ",") {
			id, key, ok := strings.Cut(strings.TrimSpace(pair), ":")
			if !ok || id == "" || key == "" {
				return errors.New("want id:key pairs separated by commas")
			}
			keys = append(keys, WebhookKey{ID: id, Key: Secret(key)})
		}
		v.Set(reflect.ValueOf(keys))
	default:
		return fmt.Errorf("cannot be set from the environment (%s)", v.Kind())
	}
	return nil
}

func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return name
}

func (c *Config) fillDefaults() {
	if c.Cybersource != nil && c.Cybersource.Auth == "" {
		c.Cybersource.Auth = CybersourceAuthDefault
	}
	if c.Syspro != nil && c.Syspro.Seats == 0 {
		c.Syspro.Seats = SysproSeatsDefault
	}
}

// validate names every missing or wrong key at once, so an operator fixes the file in one go.
func (c *Config) validate() error {
	var problems []string
	need := func(section, key, value string) {
		if strings.TrimSpace(value) == "" {
			problems = append(problems, section+"."+key+" is required")
		}
	}
	if s := c.Cybersource; s != nil {
		need("cybersource", "url", s.URL)
		need("cybersource", "merchantId", s.MerchantID)
		need("cybersource", "keyId", s.KeyID)
		need("cybersource", "secret", string(s.Secret))
		if s.Auth != "http_signature" && s.Auth != "jwt" {
			problems = append(problems, fmt.Sprintf("cybersource.auth is %q; want http_signature or jwt", s.Auth))
		}
	}
	if s := c.Opayo; s != nil {
		need("opayo", "piUrl", s.PiURL)
		need("opayo", "integrationKey", s.IntegrationKey)
		need("opayo", "integrationPassword", string(s.IntegrationPassword))
		need("opayo", "vendor", s.Vendor)
	}
	if s := c.Syspro; s != nil {
		need("syspro", "url", s.URL)
		need("syspro", "operator", s.Operator)
		need("syspro", "companyId", s.CompanyID)
		if s.Seats < 1 {
			problems = append(problems, fmt.Sprintf("syspro.seats is %d; want 1 or more", s.Seats))
		}
	}
	if _, err := c.Sync.durations(); err != nil {
		problems = append(problems, err.Error())
	}
	if s := c.Sync; s != nil && s.ArPaymentAt != "" && s.ArPaymentAt != hubsync.ArPaymentAtCapture && s.ArPaymentAt != hubsync.ArPaymentAtShip {
		problems = append(problems, fmt.Sprintf("sync.arPaymentAt is %q; want capture or ship", s.ArPaymentAt))
	}
	problems = append(problems, c.GraphQL.problems()...)
	problems = append(problems, c.Settlement.problems()...)
	if c.Fraud != nil {
		if err := c.Fraud.Validate(); err != nil {
			problems = append(problems, "fraud: "+err.Error())
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("config: %s", strings.Join(problems, "; "))
	}
	return nil
}

// Connectors says which connectors are on and which off, for the start-up log.
func (c *Config) Connectors() (on, off []string) {
	for name, enabled := range map[string]bool{
		"cybersource": c.Cybersource != nil, "opayo": c.Opayo != nil, "syspro": c.Syspro != nil,
	} {
		if enabled {
			on = append(on, name)
		} else {
			off = append(off, name)
		}
	}
	slices.Sort(on)
	slices.Sort(off)
	return on, off
}
