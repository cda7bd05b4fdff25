package opayosim

// Opayo's txstateid values (Reporting getTransactionDetail), with the descriptions Opayo publishes.
// Opayo has no separate "settled" state: a settled transaction keeps its state (16 for a payment)
// and gains a batchid.
const (
	txStateCardSelection   = 2  // Server: registered, shopper on the card selection page
	txState3DSecure        = 5  // at 3-D Secure authentication
	txStateNotifying       = 7  // Server: vendor notified, awaiting the reply
	txStateVendorCancelled = 9  // Server: vendor replied INVALID or ERROR
	txStateRejected        = 10 // rejected by fraud rules (AVS/CV2, 3-D Secure)
	txStateCustomerAborted = 11 // Server: shopper pressed cancel
	txStateDeclined        = 12 // NOTAUTHED
	txStateErrorCancelled  = 13 // cancelled by Opayo, here: notification never acknowledged
	txStateDeferred        = 14 // DEFERRED awaiting RELEASE
	txStateAuthenticated   = 15 // AUTHENTICATED awaiting AUTHORISE
	txStateAuthorised      = 16 // successfully authorised (also after release, and once settled)
	txStateVoided          = 18
	txStateDeferredAborted = 19
	txStateRegistered      = 21 // REGISTERED awaiting AUTHORISE
	txStateAuthCancelled   = 22 // AUTHENTICATED or REGISTERED transaction cancelled
	txStateDeferredExpired = 27
)

var txStateText = map[int]string{
	txStateCardSelection:   "User on Card Selection page.",
	txState3DSecure:        "Transaction at 3D-Secure Authentication Stage.",
	txStateNotifying:       "Vendor Notified of transaction state at their NotificationURL. Awaiting response.",
	txStateVendorCancelled: "Transaction completed but Vendor systems returned INVALID or ERROR in response to notification POST. Transaction CANCELLED by the Vendor.",
	txStateRejected:        "Transaction REJECTED by the Fraud Rules you have in place.",
	txStateCustomerAborted: "Transaction ABORTED by the Customer on the Payment Pages.",
	txStateDeclined:        "Transaction DECLINED by the bank (NOTAUTHED).",
	txStateErrorCancelled:  "An ERROR occurred at Sage Pay which cancelled this transaction.",
	txStateDeferred:        "Successful DEFERRED transaction, awaiting RELEASE.",
	txStateAuthenticated:   "Successful AUTHENTICATED transaction, awaiting AUTHORISE.",
	txStateAuthorised:      "Successfully authorised transaction.",
	txStateVoided:          "Transaction VOIDed by the Vendor.",
	txStateDeferredAborted: "Successful DEFERRED transaction ABORTED by the Vendor.",
	txStateRegistered:      "Successfully REGISTERED transaction, awaiting AUTHORISE.",
	txStateAuthCancelled:   "AUTHENTICATED or REGISTERED transaction CANCELLED by the Vendor.",
	txStateDeferredExpired: "DEFERRED transaction that expired before it was RELEASEd or ABORTed.",
}

// Legacy status codes and texts (Pi statusCode/statusDetail, form-protocol StatusDetail).
const (
	detailAuthorised      = "The Authorisation was Successful."
	detailDeclined        = "The Authorisation was Declined by the bank."
	detailRejectedRules   = "The Authorisation was Rejected by the vendor rule-base."
	detail3DSFailed       = "3D-Authentication failed. This vendor's rules require a successful 3D-Authentication."
	detail3DSChallenge    = "Please redirect your customer to the ACSURL to complete the 3DS Transaction"
	detailReleased        = "The Release was Successful."
	detailVoided          = "The Void was Successful."
	detailAborted         = "The Abort was Successful."
	detailAuthenticated   = "The Authentication was Successful."
	detailRegistered      = "The Transaction has been Registered."
	detailCancelled       = "The Cancel was Successful."
	detailCustomerAborted = "The Transaction was cancelled by the customer."
)
