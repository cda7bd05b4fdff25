package opayo

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// CardDetails are the raw card data a card identifier is made from. Payhub normally lets the
// shopper's browser do this with Opayo's drop-in form; this call exists for MOTO and tests. The
// number and security code are Secrets: they go to Opayo and nowhere else.
type CardDetails struct {
	// CardholderName as printed on the card.
	CardholderName string
	// CardNumber is the PAN.
	CardNumber Secret
	// ExpiryDate is MMYY.
	ExpiryDate string
	// SecurityCode is the CV2/CVV; optional.
	SecurityCode Secret
}

// CardIdentifier is Opayo's token for card details, valid for 400 seconds unless a transaction
// saves it (opayo.md §2.3).
type CardIdentifier struct {
	// ID is the cardIdentifier, e.g. "C6F92981-8C2D-457A-AA1E-16EBCD6D3AC6".
	ID string
	// Expiry is when an unused identifier lapses; zero when unreadable.
	Expiry time.Time
	// CardType is Opayo's brand name: Visa, MasterCard, AmericanExpress, ...
	CardType string
}

type wireCardDetails struct {
	CardholderName string `json:"cardholderName"`
	CardNumber     string `json:"cardNumber"`
	ExpiryDate     string `json:"expiryDate"`
	SecurityCode   string `json:"securityCode,omitempty"`
}

// CreateCardIdentifier tokenises card details (POST /card-identifiers, Bearer merchant session
// key). Errors name the failing property (cardDetails.cardNumber) but never its value.
func (c *Client) CreateCardIdentifier(ctx context.Context, msk string, card CardDetails) (*CardIdentifier, error) {
	const op = "CreateCardIdentifier"
	if msk == "" {
		return nil, invalidRequest(op, "merchant session key is empty")
	}
	body := map[string]wireCardDetails{"cardDetails": {
		CardholderName: card.CardholderName,
		CardNumber:     string(card.CardNumber),
		ExpiryDate:     card.ExpiryDate,
		SecurityCode:   string(card.SecurityCode),
	}}
	ans, err := c.doPi(ctx, piCall{op: op, method: http.MethodPost, path: "/card-identifiers", auth: piAuth{bearer: msk}, body: body})
	if err != nil {
		return nil, err
	}
	var w struct {
		CardIdentifier string `json:"cardIdentifier"`
		Expiry         string `json:"expiry"`
		CardType       string `json:"cardType"`
	}
	if err := json.Unmarshal(ans.body, &w); err != nil {
		return nil, decodeError(op, ans.status, err)
	}
	if w.CardIdentifier == "" {
		return nil, &Error{Class: ClassTransient, Op: op, HTTPStatus: ans.status, Message: "response has no cardIdentifier"}
	}
	return &CardIdentifier{ID: w.CardIdentifier, Expiry: parsePiTime(w.Expiry), CardType: w.CardType}, nil
}

// LinkSecurityCode attaches a CV2 to a reusable card identifier for its next transaction
// (POST /card-identifiers/{id}/security-code, Bearer merchant session key; Opayo answers 204).
func (c *Client) LinkSecurityCode(ctx context.Context, msk, cardIdentifier string, securityCode Secret) error {
	const op = "LinkSecurityCode"
	if msk == "" || cardIdentifier == "" {
		return invalidRequest(op, "merchant session key and card identifier are required")
	}
	_, err := c.doPi(ctx, piCall{op: op, method: http.MethodPost,
		path: "/card-identifiers/" + pathSegment(cardIdentifier) + "/security-code",
		auth: piAuth{bearer: msk}, body: map[string]string{"securityCode": string(securityCode)}})
	return err
}

// DeleteCardIdentifier removes a reusable card identifier (DELETE /card-identifiers/{id},
// Basic auth), e.g. when a customer deletes a saved card.
func (c *Client) DeleteCardIdentifier(ctx context.Context, cardIdentifier string) error {
	const op = "DeleteCardIdentifier"
	if cardIdentifier == "" {
		return invalidRequest(op, "card identifier is empty")
	}
	_, err := c.doPi(ctx, piCall{op: op, method: http.MethodDelete, path: "/card-identifiers/" + pathSegment(cardIdentifier)})
	return err
}
