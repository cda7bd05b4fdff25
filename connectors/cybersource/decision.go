package cybersource

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"
)

// Decision Manager decisions and the actions that may accompany them (§6).
const (
	DecisionAccept = "ACCEPT"
	DecisionReject = "REJECT"
	DecisionReview = "REVIEW"

	// ReviewActionCapture captures the authorization when a review is accepted.
	ReviewActionCapture = "CAPTURE"
	// ReviewActionReverse reverses the authorization when a review is rejected.
	ReviewActionReverse = "REVERSE"
)

// ReviewAction resolves a transaction held for review (POST /risk/v1/decisions/{id}/actions).
type ReviewAction struct {
	// Decision is DecisionAccept or DecisionReject.
	Decision string
	// Comments is the reviewer's note.
	Comments string
	// Actions is processingInformation.actionList: ReviewActionCapture only with accept,
	// ReviewActionReverse only with reject. Optional.
	Actions []string
}

// ReviewActionResult is the answer: status ACCEPTED or REJECTED, and the capture or reversal
// that ran with it.
type ReviewActionResult struct {
	ID            string `json:"id"`
	SubmitTimeUTC string `json:"submitTimeUtc"`
	Status        string `json:"status"`
	Embedded      struct {
		Capture  *EmbeddedTransaction `json:"capture,omitempty"`
		Reversal *EmbeddedTransaction `json:"reversal,omitempty"`
	} `json:"_embedded"`
	Links Links `json:"_links"`
}

// EmbeddedTransaction is a follow-on a review action ran (its status and links; the capture's id
// is the last segment of Links.Href("self")).
type EmbeddedTransaction struct {
	ID     string `json:"id,omitempty"`
	Status string `json:"status"`
	Links  Links  `json:"_links"`
}

type reviewActionBody struct {
	DecisionInformation struct {
		Decision string `json:"decision"`
		Comments string `json:"comments,omitempty"`
	} `json:"decisionInformation"`
	ProcessingInformation *struct {
		ActionList []string `json:"actionList"`
	} `json:"processingInformation,omitempty"`
}

// TakeReviewAction accepts or rejects a transaction Decision Manager held for review. The
// decision/action pairing is checked before sending.
func (c *Client) TakeReviewAction(ctx context.Context, id string, a ReviewAction) (*ReviewActionResult, error) {
	const op = "TakeReviewAction"
	if err := requireID(op, "id", id); err != nil {
		return nil, err
	}
	if a.Decision != DecisionAccept && a.Decision != DecisionReject {
		return nil, localError(op, ClassInvalidRequest, "decision must be %s or %s", DecisionAccept, DecisionReject)
	}
	for _, act := range a.Actions {
		if (act == ReviewActionCapture && a.Decision != DecisionAccept) || (act == ReviewActionReverse && a.Decision != DecisionReject) ||
			(act != ReviewActionCapture && act != ReviewActionReverse) {
			return nil, localError(op, ClassInvalidRequest, "action %q is not allowed with decision %s", act, a.Decision)
		}
	}
	var body reviewActionBody
	body.DecisionInformation.Decision = a.Decision
	body.DecisionInformation.Comments = a.Comments
	if len(a.Actions) > 0 {
		body.ProcessingInformation = &struct {
			ActionList []string `json:"actionList"`
		}{ActionList: a.Actions}
	}
	var res ReviewActionResult
	if _, err := c.do(ctx, request{op: op, method: http.MethodPost, path: pathf("/risk/v1/decisions/%s/actions", id), body: body}, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// ConversionDetail is one review that a person resolved: the original REVIEW and the new decision.
type ConversionDetail struct {
	MerchantReferenceNumber string           `json:"merchantReferenceNumber"`
	ConversionTime          string           `json:"conversionTime"`
	RequestID               string           `json:"requestId"`
	OriginalDecision        string           `json:"originalDecision"`
	NewDecision             string           `json:"newDecision"`
	Reviewer                string           `json:"reviewer"`
	ReviewerComments        string           `json:"reviewerComments"`
	Queue                   string           `json:"queue"`
	Profile                 string           `json:"profile"`
	Notes                   []ConversionNote `json:"notes,omitempty"`
}

// ConversionNote is one note on a case.
type ConversionNote struct {
	Time     string `json:"time"`
	AddedBy  string `json:"addedBy"`
	Comments string `json:"comments"`
}

// ConversionDetailsResult is GET /reporting/v3/conversion-details.
type ConversionDetailsResult struct {
	OrganizationID    string             `json:"organizationId"`
	StartTime         string             `json:"startTime"`
	EndTime           string             `json:"endTime"`
	ConversionDetails []ConversionDetail `json:"conversionDetails"`
	Raw               json.RawMessage    `json:"-"`
}

func (r *ConversionDetailsResult) setRaw(b []byte) { r.Raw = append(json.RawMessage(nil), b...) }

// reportingTimeLayout is how reporting queries write instants.
const reportingTimeLayout = "2006-01-02T15:04:05Z"

// ConversionDetails lists reviews resolved between start and end. Cybersource answers 404 when
// there are none (ClassNotFound, which a poller treats as an empty list).
func (c *Client) ConversionDetails(ctx context.Context, start, end time.Time, organizationID string) (*ConversionDetailsResult, error) {
	const op = "ConversionDetails"
	q := url.Values{"startTime": {start.UTC().Format(reportingTimeLayout)}, "endTime": {end.UTC().Format(reportingTimeLayout)}}
	if organizationID != "" {
		q.Set("organizationId", organizationID)
	}
	var res ConversionDetailsResult
	if _, err := c.do(ctx, request{op: op, method: http.MethodGet, path: "/reporting/v3/conversion-details", query: q}, &res); err != nil {
		return nil, err
	}
	return &res, nil
}
