"""The properties of the 24 entities beyond Customer, Vendor, Employee, Item and Account: which a
query may filter or sort on, which a write may send, which QuickBooks computes, which are typed.

Where they come from, once per entity below. Queryable: CData's QuickBooks Online driver, whose
tables mark each column "Filterable" from what the API accepts in a WHERE clause (the stored pages
show the first columns of each table; a column past them, or an entity without a stored page,
follows the transactions' common set: DocNumber, TxnDate, the party and TotalAmt, and is marked
UNCONFIRMED). Known: the attributes python-quickbooks 0.9.12 declares on each model (the
conformance suite's client, which sends every attribute that is not None), plus the names
Intuit's entity reference lists that the model lacks; no stored Intuit page lists an entity's
attributes, so every list is UNCONFIRMED. One set serves WHERE and ORDERBY, as for the five
entities in `properties.py`. What `transactions.py` computes (TotalAmt, Balance, RemainingCredit,
UnappliedAmt) is read-only on the forms that compute it; other transactions keep what is sent.
"""

from __future__ import annotations


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


ENTITIES: dict[str, dict[str, frozenset[str]]] = {
    # Queryable: CData's QuickBooks Online tables (gravitydata …/tables/bills).
    # DocNumber, TxnDate, VendorRef, APAccountRef, TotalAmt and SalesTermRef are marked filterable
    # on the stored page; DueDate and Balance fall past it: UNCONFIRMED.
    # Known: python-quickbooks 0.9.12 `quickbooks/objects/bill.py`, plus HomeBalance,
    # IncludeInAnnualTPAR, RecurDataRef, TransactionLocationType, TxnTaxDetail from Intuit's
    # reference (UNCONFIRMED).
    "Bill": {
        "queryable": _names(
            "APAccountRef Balance DocNumber DueDate SalesTermRef TotalAmt TxnDate VendorRef"
        ),
        "known": _names(
            "APAccountRef AttachableRef Balance CurrencyRef DepartmentRef "
            "DocNumber DueDate ExchangeRate GlobalTaxCalculation HomeBalance "
            "IncludeInAnnualTPAR Line LinkedTxn PrivateNote RecurDataRef "
            "SalesTermRef TotalAmt TransactionLocationType TxnDate TxnTaxDetail "
            "VendorAddr VendorRef"
        ),
        "read_only": _names("HomeBalance RecurDataRef"),
        "numbers": _names("Balance ExchangeRate HomeBalance TotalAmt"),
    },
    # Queryable: CData's QuickBooks Online tables (ComponentOne …/online-dataconnector/bill.html).
    # DocNumber, TxnDate, VendorRef and APAccountRef are marked filterable on the stored page;
    # TotalAmt falls past it: UNCONFIRMED.
    # Known: python-quickbooks 0.9.12 `quickbooks/objects/billpayment.py`, plus ExchangeRate,
    # ProcessBillPayment, TransactionLocationType, TxnDate from Intuit's reference (UNCONFIRMED).
    "BillPayment": {
        "queryable": _names("APAccountRef DocNumber TotalAmt TxnDate VendorRef"),
        "known": _names(
            "APAccountRef CheckPayment CreditCardPayment CurrencyRef "
            "DepartmentRef DocNumber ExchangeRate Line PayType PrivateNote "
            "ProcessBillPayment TotalAmt TransactionLocationType TxnDate "
            "VendorRef"
        ),
        "booleans": _names("ProcessBillPayment"),
        "numbers": _names("ExchangeRate TotalAmt"),
    },
    # Queryable: no stored page lists Budget's filterable columns: UNCONFIRMED; Active is refused
    # (entities.UNFILTERABLE).
    # Known: python-quickbooks 0.9.12 `quickbooks/objects/budget.py` (UNCONFIRMED).
    "Budget": {
        "queryable": _names("BudgetEntryType BudgetType EndDate Name StartDate"),
        "known": _names("Active BudgetDetail BudgetEntryType BudgetType EndDate Name StartDate"),
        "booleans": _names("Active"),
    },
    # Queryable: CData's QuickBooks Online tables (cdata RNK …/pg_table-class.htm).
    # Known: python-quickbooks 0.9.12 `quickbooks/objects/trackingclass.py`, plus ParentRef from
    # Intuit's reference (UNCONFIRMED).
    "Class": {
        "queryable": _names("Active FullyQualifiedName Name SubClass"),
        "known": _names("Active FullyQualifiedName Name ParentRef SubClass"),
        "read_only": _names("FullyQualifiedName"),
        "booleans": _names("Active SubClass"),
    },
    # Queryable: no stored page lists CompanyCurrency's filterable columns: UNCONFIRMED.
    # Known: python-quickbooks 0.9.12 `quickbooks/objects/companycurrency.py` (UNCONFIRMED).
    "CompanyCurrency": {
        "queryable": _names("Active Code Name"),
        "known": _names("Active Code CustomField Name"),
        "booleans": _names("Active"),
    },
    # Queryable: no stored page lists CreditMemo's filterable columns: DocNumber, TxnDate,
    # CustomerRef and TotalAmt as on the other sales forms, UNCONFIRMED.
    # Known: python-quickbooks 0.9.12 `quickbooks/objects/creditmemo.py`, plus
    # DepositToAccountRef, HomeTotalAmt, InvoiceRef, PaymentMethodRef, ProjectRef, RecurDataRef,
    # ShipFromAddr, TaxExemptionRef, TransactionLocationType, TxnSource from Intuit's reference
    # (UNCONFIRMED).
    "CreditMemo": {
        "queryable": _names("CustomerRef DocNumber TotalAmt TxnDate"),
        "known": _names(
            "AllowIPNPayment AllowOnlineACHPayment AllowOnlineCreditCardPayment "
            "AllowOnlinePayment ApplyTaxAfterDiscount Balance BillAddr BillEmail "
            "ClassRef CurrencyRef CustomField CustomerMemo CustomerRef "
            "DepartmentRef Deposit DepositToAccountRef DocNumber EInvoiceStatus "
            "EmailStatus ExchangeRate FreeFormAddress GlobalTaxCalculation "
            "HomeBalance HomeTotalAmt InvoiceLink InvoiceRef Line "
            "PaymentMethodRef PrintStatus PrivateNote ProjectRef RecurDataRef "
            "RemainingCredit SalesTermRef ShipAddr ShipFromAddr TaxExemptionRef "
            "TotalAmt TransactionLocationType TxnDate TxnSource TxnTaxDetail"
        ),
        "read_only": _names(
            "Balance RemainingCredit TotalAmt EInvoiceStatus FreeFormAddress HomeBalance HomeTotalAmt "
            "InvoiceLink RecurDataRef TaxExemptionRef"
        ),
        "booleans": _names(
            "AllowIPNPayment AllowOnlineACHPayment "
            "AllowOnlineCreditCardPayment AllowOnlinePayment "
            "ApplyTaxAfterDiscount"
        ),
        "numbers": _names(
            "Balance Deposit ExchangeRate HomeBalance HomeTotalAmt RemainingCredit TotalAmt"
        ),
    },
    # Queryable: no stored page lists Department's filterable columns: as Class, UNCONFIRMED.
    # Known: python-quickbooks 0.9.12 `quickbooks/objects/department.py`, plus ParentRef from
    # Intuit's reference (UNCONFIRMED).
    "Department": {
        "queryable": _names("Active FullyQualifiedName Name SubDepartment"),
        "known": _names("Active FullyQualifiedName Name ParentRef SubDepartment"),
        "read_only": _names("FullyQualifiedName"),
        "booleans": _names("Active SubDepartment"),
    },
    # Queryable: CData's QuickBooks Online tables (ComponentOne …/deposits.html).
    # Known: python-quickbooks 0.9.12 `quickbooks/objects/deposit.py`, plus CashBack, ClassRef,
    # RecurDataRef, TransactionLocationType, TxnTaxDetail from Intuit's reference (UNCONFIRMED).
    "Deposit": {
        "queryable": _names("TotalAmt TxnDate"),
        "known": _names(
            "AttachableRef CashBack ClassRef CurrencyRef DepartmentRef "
            "DepositToAccountRef DocNumber ExchangeRate GlobalTaxCalculation "
            "HomeTotalAmt Line PrivateNote RecurDataRef TotalAmt "
            "TransactionLocationType TxnDate TxnSource TxnStatus TxnTaxDetail"
        ),
        "read_only": _names("HomeTotalAmt RecurDataRef"),
        "numbers": _names("ExchangeRate HomeTotalAmt TotalAmt"),
    },
    # Queryable: CData's QuickBooks Online tables (gravitydata …/tables/estimates, ComponentOne
    # …/estimates.html).
    # DocNumber, TxnDate and CustomerRef are marked filterable on the stored pages; TotalAmt as on
    # the other sales forms: UNCONFIRMED.
    # Known: python-quickbooks 0.9.12 `quickbooks/objects/estimate.py`, plus CurrencyRef,
    # FreeFormAddress, HomeTotalAmt, RecurDataRef, TaxExemptionRef, TransactionLocationType,
    # TxnSource from Intuit's reference (UNCONFIRMED).
    "Estimate": {
        "queryable": _names("CustomerRef DocNumber TotalAmt TxnDate"),
        "known": _names(
            "AcceptedBy AcceptedDate AllowIPNPayment AllowOnlineACHPayment "
            "AllowOnlineCreditCardPayment AllowOnlinePayment "
            "ApplyTaxAfterDiscount Balance BillAddr BillEmail ClassRef "
            "CurrencyRef CustomField CustomerMemo CustomerRef DepartmentRef "
            "Deposit DocNumber DueDate EInvoiceStatus EmailStatus ExchangeRate "
            "ExpirationDate FreeFormAddress GlobalTaxCalculation HomeBalance "
            "HomeTotalAmt InvoiceLink Line LinkedTxn PrintStatus PrivateNote "
            "ProjectRef RecurDataRef RemainingCredit SalesTermRef ShipAddr "
            "ShipDate ShipFromAddr ShipMethodRef TaxExemptionRef TotalAmt "
            "TrackingNum TransactionLocationType TxnDate TxnSource TxnStatus "
            "TxnTaxDetail"
        ),
        "read_only": _names(
            "TotalAmt EInvoiceStatus FreeFormAddress HomeBalance HomeTotalAmt "
            "InvoiceLink RecurDataRef TaxExemptionRef"
        ),
        "booleans": _names(
            "AllowIPNPayment AllowOnlineACHPayment "
            "AllowOnlineCreditCardPayment AllowOnlinePayment "
            "ApplyTaxAfterDiscount"
        ),
        "numbers": _names(
            "Balance Deposit ExchangeRate HomeBalance HomeTotalAmt RemainingCredit TotalAmt"
        ),
    },
    # Queryable: CData's QuickBooks Online tables (gravitydata …/tables/invoices).
    # DocNumber, TxnDate and CustomerRef are marked filterable on the stored pages; DueDate,
    # TotalAmt and Balance fall past the stored excerpt: UNCONFIRMED.
    # Known: python-quickbooks 0.9.12 `quickbooks/objects/invoice.py`, plus AllowOnlinePayment,
    # ClassRef, DepositToAccountRef, ProjectRef, ShipFromAddr, TransactionLocationType, TxnSource
    # from Intuit's reference (UNCONFIRMED).
    "Invoice": {
        "queryable": _names("Balance CustomerRef DocNumber DueDate TotalAmt TxnDate"),
        "known": _names(
            "AllowIPNPayment AllowOnlineACHPayment AllowOnlineCreditCardPayment "
            "AllowOnlinePayment ApplyTaxAfterDiscount Balance BillAddr BillEmail "
            "BillEmailBcc BillEmailCc ClassRef CurrencyRef CustomField "
            "CustomerMemo CustomerRef DeliveryInfo DepartmentRef Deposit "
            "DepositToAccountRef DocNumber DueDate EInvoiceStatus EmailStatus "
            "ExchangeRate FreeFormAddress GlobalTaxCalculation HomeBalance "
            "HomeTotalAmt InvoiceLink Line LinkedTxn PrintStatus PrivateNote "
            "ProjectRef RecurDataRef RemainingCredit SalesTermRef ShipAddr "
            "ShipDate ShipFromAddr ShipMethodRef TaxExemptionRef TotalAmt "
            "TrackingNum TransactionLocationType TxnDate TxnSource TxnTaxDetail"
        ),
        "read_only": _names(
            "Balance TotalAmt EInvoiceStatus FreeFormAddress HomeBalance HomeTotalAmt "
            "InvoiceLink RecurDataRef TaxExemptionRef"
        ),
        "booleans": _names(
            "AllowIPNPayment AllowOnlineACHPayment "
            "AllowOnlineCreditCardPayment AllowOnlinePayment "
            "ApplyTaxAfterDiscount"
        ),
        "numbers": _names(
            "Balance Deposit ExchangeRate HomeBalance HomeTotalAmt RemainingCredit TotalAmt"
        ),
    },
    # Queryable: neither the stored pages nor python-quickbooks describe JournalCode: the whole
    # entry is UNCONFIRMED.
    # Known: Intuit's reference names only; UNCONFIRMED.
    "JournalCode": {
        "queryable": _names("Active Name Type"),
        "known": _names("Active CustomField Description Name Type"),
        "booleans": _names("Active"),
    },
    # Queryable: no stored page lists JournalEntry's filterable columns: UNCONFIRMED.
    # Known: python-quickbooks 0.9.12 `quickbooks/objects/journalentry.py`, plus HomeTotalAmt,
    # JournalCodeRef, RecurDataRef, TaxRateRef, TransactionLocationType from Intuit's reference
    # (UNCONFIRMED).
    "JournalEntry": {
        "queryable": _names("DocNumber TotalAmt TxnDate"),
        "known": _names(
            "Adjustment CurrencyRef DocNumber ExchangeRate HomeTotalAmt "
            "JournalCodeRef Line PrivateNote RecurDataRef TaxRateRef TotalAmt "
            "TransactionLocationType TxnDate TxnTaxDetail"
        ),
        "read_only": _names("HomeTotalAmt RecurDataRef"),
        "booleans": _names("Adjustment"),
        "numbers": _names("ExchangeRate HomeTotalAmt TotalAmt"),
    },
    # Queryable: CData's QuickBooks Online tables (cdata RNH …/pg_table-payments.htm, gravitydata
    # …/tables/payments).
    # TxnDate and CustomerRef are marked filterable on the stored pages; TotalAmt falls past the
    # stored excerpt: UNCONFIRMED.
    # Known: python-quickbooks 0.9.12 `quickbooks/objects/payment.py`, plus ProcessPayment,
    # ProjectRef from Intuit's reference (UNCONFIRMED).
    "Payment": {
        "queryable": _names("CustomerRef TotalAmt TxnDate"),
        "known": _names(
            "ARAccountRef CreditCardPayment CurrencyRef CustomerRef "
            "DepositToAccountRef ExchangeRate HomeTotalAmt Line PaymentMethodRef "
            "PaymentRefNum PrivateNote ProcessPayment ProjectRef TaxExemptionRef "
            "TotalAmt TransactionLocationType TxnDate TxnSource TxnStatus "
            "UnappliedAmt"
        ),
        "read_only": _names("HomeTotalAmt UnappliedAmt"),
        "booleans": _names("ProcessPayment"),
        "numbers": _names("ExchangeRate TotalAmt UnappliedAmt"),
    },
    # Queryable: no stored page lists PaymentMethod's filterable columns: UNCONFIRMED.
    # Known: python-quickbooks 0.9.12 `quickbooks/objects/paymentmethod.py` (UNCONFIRMED).
    "PaymentMethod": {
        "queryable": _names("Active Name Type"),
        "known": _names("Active Name Type"),
        "booleans": _names("Active"),
    },
    # Queryable: the Id of the one record is refused (entities.UNFILTERABLE); no other filter is
    # documented: UNCONFIRMED.
    # Known: python-quickbooks 0.9.12 `quickbooks/objects/preferences.py` (UNCONFIRMED).
    "Preferences": {
        "queryable": frozenset(),
        "known": _names(
            "AccountingInfoPrefs CurrencyPrefs EmailMessagesPrefs OtherPrefs "
            "ProductAndServicesPrefs ReportPrefs SalesFormsPrefs TaxPrefs "
            "TimeTrackingPrefs VendorAndPurchasesPrefs"
        ),
    },
    # Queryable: no stored page lists Purchase's filterable columns: UNCONFIRMED.
    # Known: python-quickbooks 0.9.12 `quickbooks/objects/purchase.py`, plus IncludeInAnnualTPAR,
    # RecurDataRef, TransactionLocationType from Intuit's reference (UNCONFIRMED).
    "Purchase": {
        "queryable": _names("AccountRef DocNumber EntityRef PaymentType TotalAmt TxnDate"),
        "known": _names(
            "AccountRef Credit CurrencyRef DepartmentRef DocNumber EntityRef "
            "ExchangeRate GlobalTaxCalculation IncludeInAnnualTPAR Line "
            "LinkedTxn PaymentMethodRef PaymentType PrintStatus PrivateNote "
            "PurchaseEx RecurDataRef RemitToAddr TotalAmt "
            "TransactionLocationType TxnDate TxnSource TxnTaxDetail"
        ),
        "read_only": _names("RecurDataRef"),
        "booleans": _names("Credit"),
        "numbers": _names("ExchangeRate TotalAmt"),
    },
    # Queryable: no stored page lists PurchaseOrder's filterable columns: UNCONFIRMED.
    # Known: python-quickbooks 0.9.12 `quickbooks/objects/purchaseorder.py`, plus DepartmentRef,
    # EmailStatus, POEmail, RecurDataRef, ShipTo, TransactionLocationType from Intuit's reference
    # (UNCONFIRMED).
    "PurchaseOrder": {
        "queryable": _names("DocNumber POStatus TotalAmt TxnDate VendorRef"),
        "known": _names(
            "APAccountRef AttachableRef ClassRef CurrencyRef CustomField "
            "DepartmentRef DocNumber DueDate EmailStatus ExchangeRate "
            "GlobalTaxCalculation Line LinkedTxn Memo POEmail POStatus "
            "PrivateNote RecurDataRef SalesTermRef ShipAddr ShipMethodRef ShipTo "
            "TaxCodeRef TotalAmt TransactionLocationType TxnDate TxnTaxDetail "
            "VendorAddr VendorRef"
        ),
        "read_only": _names("RecurDataRef"),
        "numbers": _names("ExchangeRate TotalAmt"),
    },
    # Queryable: CData's QuickBooks Online tables (ComponentOne …/refundreceipts.html).
    # DocNumber, TxnDate and CustomerRef are marked filterable on the stored page; TotalAmt as on
    # the other sales forms: UNCONFIRMED.
    # Known: python-quickbooks 0.9.12 `quickbooks/objects/refundreceipt.py`, plus HomeTotalAmt,
    # ProjectRef, RecurDataRef, ShipFromAddr, TaxExemptionRef, TransactionLocationType from
    # Intuit's reference (UNCONFIRMED).
    "RefundReceipt": {
        "queryable": _names("CustomerRef DocNumber TotalAmt TxnDate"),
        "known": _names(
            "AllowIPNPayment AllowOnlineACHPayment AllowOnlineCreditCardPayment "
            "AllowOnlinePayment ApplyTaxAfterDiscount Balance BillAddr BillEmail "
            "CheckPayment ClassRef CreditCardPayment CurrencyRef CustomField "
            "CustomerMemo CustomerRef DepartmentRef Deposit DepositToAccountRef "
            "DocNumber EInvoiceStatus ExchangeRate FreeFormAddress "
            "GlobalTaxCalculation HomeBalance HomeTotalAmt InvoiceLink Line "
            "LinkedTxn PaymentMethodRef PaymentRefNum PaymentType PrintStatus "
            "PrivateNote ProjectRef RecurDataRef RemainingCredit ShipAddr "
            "ShipFromAddr TaxExemptionRef TotalAmt TransactionLocationType "
            "TxnDate TxnSource TxnTaxDetail"
        ),
        "read_only": _names(
            "EInvoiceStatus FreeFormAddress HomeBalance HomeTotalAmt "
            "InvoiceLink RecurDataRef TaxExemptionRef"
        ),
        "booleans": _names(
            "AllowIPNPayment AllowOnlineACHPayment "
            "AllowOnlineCreditCardPayment AllowOnlinePayment "
            "ApplyTaxAfterDiscount"
        ),
        "numbers": _names(
            "Balance Deposit ExchangeRate HomeBalance HomeTotalAmt RemainingCredit TotalAmt"
        ),
    },
    # Queryable: CData's QuickBooks Online tables (gravitydata …/tables/salesreceipts).
    # DocNumber and TxnDate are marked filterable on the stored page; CustomerRef and TotalAmt as
    # on the other sales forms: UNCONFIRMED.
    # Known: python-quickbooks 0.9.12 `quickbooks/objects/salesreceipt.py`, plus FreeFormAddress,
    # HomeTotalAmt, ProjectRef, RecurDataRef, ShipFromAddr, TaxExemptionRef,
    # TransactionLocationType from Intuit's reference (UNCONFIRMED).
    "SalesReceipt": {
        "queryable": _names("CustomerRef DocNumber TotalAmt TxnDate"),
        "known": _names(
            "AllowIPNPayment AllowOnlineACHPayment AllowOnlineCreditCardPayment "
            "AllowOnlinePayment ApplyTaxAfterDiscount Balance BillAddr BillEmail "
            "ClassRef CreditCardPayment CurrencyRef CustomField CustomerMemo "
            "CustomerRef DeliveryInfo DepartmentRef Deposit DepositToAccountRef "
            "DocNumber EInvoiceStatus EmailStatus ExchangeRate FreeFormAddress "
            "GlobalTaxCalculation HomeBalance HomeTotalAmt InvoiceLink Line "
            "LinkedTxn PaymentMethodRef PaymentRefNum PrintStatus PrivateNote "
            "ProjectRef RecurDataRef RemainingCredit ShipAddr ShipDate "
            "ShipFromAddr ShipMethodRef TaxExemptionRef TotalAmt TrackingNum "
            "TransactionLocationType TxnDate TxnSource TxnTaxDetail"
        ),
        "read_only": _names(
            "Balance TotalAmt EInvoiceStatus FreeFormAddress HomeBalance HomeTotalAmt "
            "InvoiceLink RecurDataRef TaxExemptionRef"
        ),
        "booleans": _names(
            "AllowIPNPayment AllowOnlineACHPayment "
            "AllowOnlineCreditCardPayment AllowOnlinePayment "
            "ApplyTaxAfterDiscount"
        ),
        "numbers": _names(
            "Balance Deposit ExchangeRate HomeBalance HomeTotalAmt RemainingCredit TotalAmt"
        ),
    },
    # Queryable: no stored page lists TaxAgency's filterable columns: UNCONFIRMED.
    # Known: python-quickbooks 0.9.12 `quickbooks/objects/taxagency.py`, plus LastFileDate,
    # TaxAgencyConfig from Intuit's reference (UNCONFIRMED).
    "TaxAgency": {
        "queryable": _names("DisplayName"),
        "known": _names(
            "DisplayName LastFileDate TaxAgencyConfig TaxRegistrationNumber "
            "TaxTrackedOnPurchases TaxTrackedOnSales"
        ),
        "booleans": _names("TaxTrackedOnPurchases TaxTrackedOnSales"),
    },
    # Queryable: CData's QuickBooks Online tables (cdata RNK …/pg_table-terms.htm).
    # Known: python-quickbooks 0.9.12 `quickbooks/objects/term.py` (UNCONFIRMED).
    "Term": {
        "queryable": _names("Active Name"),
        "known": _names(
            "Active DayOfMonthDue DiscountDayOfMonth DiscountDays "
            "DiscountPercent DueDays DueNextMonthDays Name Type"
        ),
        "booleans": _names("Active"),
        "numbers": _names(
            "DayOfMonthDue DiscountDayOfMonth DiscountDays DiscountPercent DueDays DueNextMonthDays"
        ),
    },
    # Queryable: CData's QuickBooks Online tables (cdata RNM …/pg_table-timeactivities.htm).
    # Known: python-quickbooks 0.9.12 `quickbooks/objects/timeactivity.py`, plus PayrollItemRef,
    # ProjectRef, TransactionLocationType from Intuit's reference (UNCONFIRMED).
    "TimeActivity": {
        "queryable": _names("TxnDate"),
        "known": _names(
            "AttachableRef BillableStatus BreakHours BreakMinutes ClassRef "
            "CostRate CustomerRef DepartmentRef Description EmployeeRef EndTime "
            "HourlyRate Hours ItemRef Minutes NameOf PayrollItemRef ProjectRef "
            "StartTime Taxable TransactionLocationType TxnDate VendorRef"
        ),
        "booleans": _names("Taxable"),
        "numbers": _names("BreakHours BreakMinutes CostRate HourlyRate Hours Minutes"),
    },
    # Queryable: no stored page lists Transfer's filterable columns: UNCONFIRMED.
    # Known: python-quickbooks 0.9.12 `quickbooks/objects/transfer.py`, plus CurrencyRef,
    # ExchangeRate, RecurDataRef, TransactionLocationType from Intuit's reference (UNCONFIRMED).
    "Transfer": {
        "queryable": _names("Amount TxnDate"),
        "known": _names(
            "Amount CurrencyRef ExchangeRate FromAccountRef PrivateNote "
            "RecurDataRef ToAccountRef TransactionLocationType TxnDate TxnSource"
        ),
        "read_only": _names("RecurDataRef"),
        "numbers": _names("Amount ExchangeRate"),
    },
    # Queryable: no stored page lists VendorCredit's filterable columns: UNCONFIRMED.
    # Known: python-quickbooks 0.9.12 `quickbooks/objects/vendorcredit.py`, plus APAccountRef,
    # Balance, CurrencyRef, DepartmentRef, IncludeInAnnualTPAR, LinkedTxn, RecurDataRef,
    # TransactionLocationType, TxnTaxDetail, VendorRef from Intuit's reference (UNCONFIRMED).
    "VendorCredit": {
        "queryable": _names("DocNumber TotalAmt TxnDate VendorRef"),
        "known": _names(
            "APAccountRef Balance CurrencyRef DepartmentRef DocNumber "
            "ExchangeRate FromAccountRef GlobalTaxCalculation "
            "IncludeInAnnualTPAR Line LinkedTxn PrivateNote RecurDataRef "
            "ToAccountRef TotalAmt TransactionLocationType TxnDate TxnTaxDetail "
            "VendorRef"
        ),
        "read_only": _names("RecurDataRef"),
        "numbers": _names("Balance ExchangeRate TotalAmt"),
    },
}
