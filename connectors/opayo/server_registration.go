package opayo

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/payhub/payhub/connectors/internal/redact"
)

// ServerProtocolVersion is the VPSProtocol this client registers with.
const ServerProtocolVersion = "4.00"

// ServerTxType is the TxType of a Server registration.
type ServerTxType string

// Server registration types (opayo.md §4.1).
const (
	ServerPayment      ServerTxType = "PAYMENT"
	ServerDeferred     ServerTxType = "DEFERRED"
	ServerAuthenticate ServerTxType = "AUTHENTICATE"
)

// ServerAddress is a Server-protocol Billing* or Delivery* group; Surname, Firstnames,
// Address1, City, PostCode (except IE) and Country are mandatory for both.
type ServerAddress struct {
	Surname    string
	Firstnames string
	Address1   string
	Address2   string
	City       string
	PostCode   string
	// Country is ISO 3166-1 alpha-2.
	Country string
	// State is for US addresses only.
	State string
	Phone string
}

// ServerRegistrationRequest registers a transaction whose card details Opayo's hosted pages
// collect; Opayo then POSTs the outcome to NotificationURL (see ParseNotification).
type ServerRegistrationRequest struct {
	// TxType defaults to PAYMENT.
	TxType       ServerTxType
	VendorTxCode string
	// Amount is in major units of Currency; it is sent with the currency's decimals ("10.50").
	Amount          decimal.Decimal
	Currency        string
	Description     string
	NotificationURL string
	Billing         ServerAddress
	// Delivery defaults to Billing when its Surname is empty.
	Delivery      ServerAddress
	CustomerEMail string
	// Profile is NORMAL (default) or LOW, the simpler payment pages.
	Profile string
	// ApplyAVSCV2 and Apply3DSecure are Opayo's 0–3 overrides; empty sends none.
	ApplyAVSCV2   string
	Apply3DSecure string
	// CreateToken asks Opayo to store the card and return a Token in the notification.
	CreateToken bool
	// Extra carries further protocol fields as they are named on the wire (e.g. "COFUsage").
	// It cannot override the fields above.
	Extra url.Values
}

// ServerRegistration is Opayo's answer to a successful registration. Keep SecurityKey with the
// transaction: it is needed to verify the notification (Notification.Verify).
type ServerRegistration struct {
	// Status is OK or OK REPEATED.
	Status       string
	StatusDetail string
	StatusCode   string
	// VPSTxID is Opayo's id, with braces: "{1E7D9C70-DBE2-4726-88EA-D369810D801D}".
	VPSTxID     string
	SecurityKey Secret
	// NextURL is where to send the shopper's browser to enter card details.
	NextURL string
	// Repeated is Status "OK REPEATED" (StatusDetail 4042): the vendorTxCode was registered
	// before and Opayo returned that registration again instead of creating a second one.
	Repeated bool
}

// RegisterServerTransaction registers a Server transaction (POST
// <GatewayURL>/vspserver-register.vsp). Status OK and OK REPEATED return the registration;
// INVALID, MALFORMED and ERROR return an *Error with StatusDetail's code ("3082 : The
// Description value is too long." → Code 3082, ClassInvalidRequest).
func (c *Client) RegisterServerTransaction(ctx context.Context, r ServerRegistrationRequest) (*ServerRegistration, error) {
	const op = "RegisterServerTransaction"
	if c.gateway == "" {
		return nil, configurationError(op, "GatewayURL is not configured")
	}
	form, err := c.serverRegistrationForm(op, r)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.gateway+"/vspserver-register.vsp", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, configurationError(op, "build request: %s", redact.Error(err).Error())
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	status, body, err := c.roundTrip(op, req)
	if err != nil {
		return nil, err
	}
	if status < 200 || status > 299 {
		return nil, &Error{Class: statusClass(status), Op: op, HTTPStatus: status, Message: "HTTP " + http.StatusText(status)}
	}
	resp, err := ParseLegacyResponse(body)
	if err != nil {
		return nil, decodeError(op, status, err)
	}
	if err := resp.Err(op); err != nil {
		return nil, err
	}
	st := strings.ToUpper(resp.Status)
	if st != LegacyStatusOK && st != LegacyStatusOKRepeated {
		return nil, &Error{Class: ClassTransient, Op: op, HTTPStatus: status, Status: sanitize(truncate(resp.Status, 20)), Message: "unexpected registration status"}
	}
	if resp.VPSTxID == "" || resp.SecurityKey == "" || resp.NextURL == "" {
		return nil, &Error{Class: ClassTransient, Op: op, HTTPStatus: status, Message: "registration answer lacks VPSTxId, SecurityKey or NextURL"}
	}
	return &ServerRegistration{
		Status:       resp.Status,
		StatusDetail: resp.StatusDetail,
		StatusCode:   resp.StatusCode,
		VPSTxID:      resp.VPSTxID,
		SecurityKey:  resp.SecurityKey,
		NextURL:      resp.NextURL,
		Repeated:     st == LegacyStatusOKRepeated,
	}, nil
}

// serverRegistrationForm checks r and renders the registration form.
func (c *Client) serverRegistrationForm(op string, r ServerRegistrationRequest) (url.Values, error) {
	txType := r.TxType
	if txType == "" {
		txType = ServerPayment
	}
	switch txType {
	case ServerPayment, ServerDeferred, ServerAuthenticate:
	default:
		return nil, invalidRequest(op, "TxType %q must be PAYMENT, DEFERRED or AUTHENTICATE", truncate(string(txType), 20))
	}
	if r.VendorTxCode == "" || len([]rune(r.VendorTxCode)) > vendorTxCodeMax {
		return nil, invalidRequest(op, "VendorTxCode is required and at most %d characters", vendorTxCodeMax)
	}
	if r.Description == "" {
		return nil, invalidRequest(op, "Description is required")
	}
	if u, err := url.Parse(r.NotificationURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, invalidRequest(op, "NotificationURL must be an absolute http(s) URL")
	}
	amount, err := formatMajor(r.Amount, r.Currency)
	if err != nil {
		return nil, invalidRequest(op, "Amount: %s", err.Error())
	}
	b := r.Billing
	if b.Surname == "" || b.Firstnames == "" || b.Address1 == "" || b.City == "" || b.Country == "" {
		return nil, invalidRequest(op, "Billing Surname, Firstnames, Address1, City and Country are required")
	}
	d := r.Delivery
	if d.Surname == "" {
		d = b
	}
	f := url.Values{}
	for k, vs := range r.Extra {
		f[k] = append([]string(nil), vs...)
	}
	set := func(k, v string) {
		f.Del(k)
		if v != "" {
			f.Set(k, v)
		}
	}
	set("VPSProtocol", ServerProtocolVersion)
	set("TxType", string(txType))
	set("Vendor", c.cfg.Vendor)
	set("VendorTxCode", r.VendorTxCode)
	set("Amount", amount)
	set("Currency", r.Currency)
	set("Description", r.Description)
	set("NotificationURL", r.NotificationURL)
	for prefix, a := range map[string]ServerAddress{"Billing": b, "Delivery": d} {
		set(prefix+"Surname", a.Surname)
		set(prefix+"Firstnames", a.Firstnames)
		set(prefix+"Address1", a.Address1)
		set(prefix+"Address2", a.Address2)
		set(prefix+"City", a.City)
		set(prefix+"PostCode", a.PostCode)
		set(prefix+"Country", a.Country)
		set(prefix+"State", a.State)
		set(prefix+"Phone", a.Phone)
	}
	set("CustomerEMail", r.CustomerEMail)
	set("Profile", r.Profile)
	set("ApplyAVSCV2", r.ApplyAVSCV2)
	set("Apply3DSecure", r.Apply3DSecure)
	if r.CreateToken {
		set("CreateToken", "1")
	}
	return f, nil
}
