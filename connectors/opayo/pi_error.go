package opayo

import (
	"encoding/json"
	"net/http"
	"strings"
)

// piErrorBody is the union of the three error shapes Pi uses (opayo.md §2.9):
// {"errors":[{code,property,description,clientMessage}]}, a single {code,description}, and the
// legacy {statusCode,statusDetail} that can also carry a transactionId and status.
type piErrorBody struct {
	Errors []struct {
		Code          flexString `json:"code"`
		Property      string     `json:"property"`
		Description   string     `json:"description"`
		ClientMessage string     `json:"clientMessage"`
	} `json:"errors"`
	Code          flexString `json:"code"`
	Property      string     `json:"property"`
	Description   string     `json:"description"`
	ClientMessage string     `json:"clientMessage"`
	StatusCode    flexString `json:"statusCode"`
	StatusDetail  string     `json:"statusDetail"`
	TransactionID string     `json:"transactionId"`
	Status        string     `json:"status"`
}

// parsePiError turns a non-2xx Pi answer into a classified *Error. A body that is not one of
// the known shapes (an HTML page from a proxy, nothing at all) is classified by status alone.
// bearer says the call authenticated with a merchant session key rather than the integration key.
func parsePiError(op string, status int, body []byte, bearer bool) *Error {
	e := &Error{Op: op, HTTPStatus: status}
	var pb piErrorBody
	if len(strings.TrimSpace(string(body))) > 0 && json.Unmarshal(body, &pb) == nil {
		for _, d := range pb.Errors {
			e.Details = append(e.Details, ErrorDetail{
				Code:          sanitize(string(d.Code)),
				Property:      sanitize(d.Property),
				Description:   sanitize(d.Description),
				ClientMessage: sanitize(d.ClientMessage),
			})
		}
		switch {
		case len(e.Details) > 0:
			first := e.Details[0]
			e.Code, e.Property, e.Message, e.ClientMessage = first.Code, first.Property, first.Description, first.ClientMessage
		case pb.Code != "":
			e.Code, e.Property, e.Message, e.ClientMessage = sanitize(string(pb.Code)), sanitize(pb.Property), sanitize(pb.Description), sanitize(pb.ClientMessage)
		case pb.StatusCode != "":
			e.Code, e.Message = sanitize(string(pb.StatusCode)), sanitize(pb.StatusDetail)
		}
		e.TransactionID = sanitize(pb.TransactionID)
		e.Status = sanitize(pb.Status)
	}
	if e.Message == "" {
		e.Message = http.StatusText(status)
		if e.Message == "" {
			e.Message = "unexpected HTTP status"
		}
	}
	e.Class = classifyPi(status, bearer, e)
	return e
}
