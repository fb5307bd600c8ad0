# ruff: noqa: RUF001 - the Chinese texts use full-width punctuation on purpose
"""Letters: what a dunning letter states, and its rendering in the buyer's language.

A letter is built from facts only (invoices, amounts, the claim under the ledger's rules) and is
rendered deterministically, so the same letter reads the same every time it is fetched.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal

from arshield_dunning.domain.policy import Action
from arshield_dunning.domain.state import Frozen

_LETTER_NAMESPACE = uuid.UUID("0b7f7f3e-3c52-4a0e-8d7c-7c1b0dc1d9a4")


def letter_id(tenant_id: str, buyer_id: str, kind: Action, key: str, on: date) -> str:
    """A stable id: re-deciding the same action on the same day names the same letter."""
    return str(uuid.uuid5(_LETTER_NAMESPACE, f"{tenant_id}|{buyer_id}|{kind}|{key}|{on}"))


class InstalmentLine(Frozen):
    """An overdue instalment a letter names, with what of it is still pursued."""

    seq: int
    due_on: date
    amount: Decimal
    outstanding: Decimal
    days_overdue: int


class LetterLine(Frozen):
    invoice_id: str
    invoice_number: str
    issued_on: date | None
    due_on: date
    amount: Decimal
    outstanding: Decimal
    days_overdue: int
    interest: Decimal = Decimal(0)
    compensation: Decimal = Decimal(0)
    compensation_currency: str | None = None
    basis: str = ""
    """The rule as the claim states it (kept with the letter's content, in English)."""
    jurisdiction: str | None = None
    agreed_rate: bool = False
    annual_rate: Decimal | None = None
    disputed: Decimal = Decimal(0)
    """The contested part, not claimed while the dispute is open."""
    instalments: tuple[InstalmentLine, ...] = ()
    """The overdue instalments of an invoice paid in instalments."""


class Letter(Frozen):
    letter_id: str
    kind: Action
    language: str
    buyer_id: str
    buyer_name: str
    as_of: date
    currency: str
    lines: tuple[LetterLine, ...]
    policy_version: str
    pay_by: date | None = None
    """A formal notice's payment deadline."""
    on_account: Decimal = Decimal(0)
    """The buyer's unallocated cash in the letter's currency, deducted from what it asks for."""

    @property
    def total_outstanding(self) -> Decimal:
        return sum((line.outstanding for line in self.lines), Decimal(0))

    @property
    def net_outstanding(self) -> Decimal:
        """The outstanding total less the buyer's cash on account."""
        return self.total_outstanding - self.on_account

    @property
    def total_interest(self) -> Decimal:
        return sum((line.interest for line in self.lines), Decimal(0))

    def compensation_totals(self) -> dict[str, Decimal]:
        totals: dict[str, Decimal] = {}
        for line in self.lines:
            if line.compensation and line.compensation_currency:
                cur = line.compensation_currency
                totals[cur] = totals.get(cur, Decimal(0)) + line.compensation
        return totals

    def grand_totals(self) -> dict[str, Decimal]:
        """Principal, interest and compensation together, per currency (a UK fixed sum on a
        non-GBP invoice is owed in GBP)."""
        totals = {self.currency: self.net_outstanding + self.total_interest}
        for currency, amount in self.compensation_totals().items():
            totals[currency] = totals.get(currency, Decimal(0)) + amount
        return totals


_LOCALES = {"en": "en_GB", "zh": "zh_Hans_CN", "de": "de_DE", "fr": "fr_FR"}


def supported_language(language: str) -> str:
    """The rendering language for a BCP 47 tag (`zh-Hans` -> `zh`); English when unsupported."""
    base = language.split("-")[0].lower()
    return base if base in _TEXT else "en"


_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "instalment": "  instalment {seq} due {due}: {amount} outstanding, {days} days overdue",
        "disputed": "  of which disputed, not claimed while the dispute is open: {amount}",
        "total.on_account": "Less your payments on account: {amount}",
        "total.net": "Balance after payments on account: {amount}",
        "greeting": "Dear {name},",
        "subject.receipt_confirmation": "Confirmation of receipt requested",
        "subject.reminder": "Payment reminder",
        "subject.first_overdue_notice": "Overdue notice",
        "subject.formal_notice": "Formal notice: demand for payment",
        "subject.agency_handover": "Transfer of your account to a collection agency",
        "subject.statement": "Statement of account",
        "intro.receipt_confirmation": "Our records show the goods and services below as delivered. "
        "Please confirm receipt by returning the signed proof of delivery.",
        "intro.reminder": "This is a friendly reminder that the invoices below fall due shortly.",
        "intro.first_overdue_notice": "The invoices below are now overdue. "
        "Please pay the outstanding amount without delay.",
        "intro.formal_notice": "Despite our earlier notices the invoices below remain unpaid. We "
        "hereby formally demand payment of the outstanding amount together with late-payment "
        "interest and fixed compensation for recovery costs, as set out below.",
        "intro.agency_handover": "As the invoices below remain unpaid, we have handed the claim "
        "to a collection agency, which will contact you. Interest continues to accrue.",
        "intro.statement": "Please find below the statement of your open items for reconciliation.",
        "columns": "Invoice | Issued | Due | Amount | Outstanding | Days overdue | Interest",
        "total.outstanding": "Total outstanding: {amount}",
        "total.interest": "Late-payment interest claimed: {amount}",
        "total.compensation": "Fixed compensation claimed: {amount}",
        "intro.formal_notice.no_compensation": "Despite our earlier notices the invoices below "
        "remain unpaid. We hereby formally demand payment of the outstanding amount together with "
        "late-payment interest, as set out below.",
        "basis": "Interest: {law}, {rate} % a year",
        "basis.agreed": "Interest: the contractual rate of {rate} % a year ({law})",
        "pay_by": "Please pay the total due by {date}.",
        "total.due": "Total due: {amount}",
        "as_of": "As of {date}",
        "closing": "Yours faithfully,\nAccounts Receivable",
    },
    "de": {
        "instalment": "  Rate {seq} fällig am {due}: {amount} offen, {days} Tage überfällig",
        "disputed": "  davon bestritten, während des Streits nicht gefordert: {amount}",
        "total.on_account": "Abzüglich Ihrer nicht zugeordneten Zahlungen: {amount}",
        "total.net": "Saldo nach Verrechnung: {amount}",
        "greeting": "Sehr geehrte Damen und Herren ({name}),",
        "subject.receipt_confirmation": "Bitte um Empfangsbestätigung",
        "subject.reminder": "Zahlungserinnerung",
        "subject.first_overdue_notice": "Mahnung",
        "subject.formal_notice": "Letzte Mahnung: Zahlungsaufforderung",
        "subject.agency_handover": "Übergabe Ihres Kontos an ein Inkassounternehmen",
        "subject.statement": "Kontoauszug",
        "intro.receipt_confirmation": "Laut unseren Unterlagen wurden die unten genannten "
        "Lieferungen und Leistungen erbracht. Bitte bestätigen Sie den Empfang mit dem "
        "unterschriebenen Liefernachweis.",
        "intro.reminder": "Wir erinnern Sie freundlich daran, dass die folgenden Rechnungen in "
        "Kürze fällig werden.",
        "intro.first_overdue_notice": "Die folgenden Rechnungen sind überfällig. Bitte begleichen "
        "Sie den offenen Betrag umgehend.",
        "intro.formal_notice": "Trotz unserer bisherigen Mahnungen sind die folgenden Rechnungen "
        "unbezahlt. Wir fordern Sie hiermit förmlich zur Zahlung des offenen Betrags zuzüglich "
        "Verzugszinsen und Verzugspauschale auf.",
        "intro.agency_handover": "Da die folgenden Rechnungen unbezahlt sind, haben wir die "
        "Forderung einem Inkassounternehmen übergeben, das sich bei Ihnen melden wird. "
        "Verzugszinsen fallen weiter an.",
        "intro.statement": "Nachfolgend erhalten Sie den Auszug Ihrer offenen Posten zum Abgleich.",
        "columns": "Rechnung | Datum | Fällig | Betrag | Offen | Tage überfällig | Zinsen",
        "total.outstanding": "Offener Gesamtbetrag: {amount}",
        "total.interest": "Geforderte Verzugszinsen: {amount}",
        "total.compensation": "Geforderte Verzugspauschale: {amount}",
        "intro.formal_notice.no_compensation": "Trotz unserer bisherigen Mahnungen sind die "
        "folgenden Rechnungen unbezahlt. Wir fordern Sie hiermit förmlich zur Zahlung des offenen "
        "Betrags zuzüglich Verzugszinsen auf.",
        "basis": "Verzugszinsen: {law}, {rate} % p. a.",
        "basis.agreed": "Verzugszinsen: vertraglich vereinbarter Zinssatz von {rate} % p. a. "
        "({law})",
        "pay_by": "Bitte zahlen Sie den Gesamtbetrag bis zum {date}.",
        "total.due": "Zu zahlender Gesamtbetrag: {amount}",
        "as_of": "Stand {date}",
        "closing": "Mit freundlichen Grüßen\nDebitorenbuchhaltung",
    },
    "fr": {
        "instalment": "  échéance {seq} du {due} : {amount} restant dû, {days} jours de retard",
        "disputed": "  dont contesté, non réclamé pendant la contestation : {amount}",
        "total.on_account": "Moins vos paiements non affectés : {amount}",
        "total.net": "Solde après imputation : {amount}",
        "greeting": "Madame, Monsieur ({name}),",
        "subject.receipt_confirmation": "Demande de confirmation de réception",
        "subject.reminder": "Rappel d'échéance",
        "subject.first_overdue_notice": "Relance pour retard de paiement",
        "subject.formal_notice": "Mise en demeure de payer",
        "subject.agency_handover": "Transmission de votre dossier à une société de recouvrement",
        "subject.statement": "Relevé de compte",
        "intro.receipt_confirmation": "Selon nos informations, les biens et services ci-dessous "
        "ont été livrés. Merci de confirmer leur réception en nous retournant le bon de "
        "livraison signé.",
        "intro.reminder": "Nous vous rappelons que les factures ci-dessous arrivent bientôt à "
        "échéance.",
        "intro.first_overdue_notice": "Les factures ci-dessous sont échues. Merci de régler le "
        "montant dû sans délai.",
        "intro.formal_notice": "Malgré nos relances, les factures ci-dessous restent impayées. "
        "Nous vous mettons en demeure de régler le montant dû, majoré des pénalités de retard et "
        "de l'indemnité forfaitaire pour frais de recouvrement indiquées ci-dessous.",
        "intro.agency_handover": "Les factures ci-dessous restant impayées, nous avons confié la "
        "créance à une société de recouvrement qui prendra contact avec vous. Les pénalités de "
        "retard continuent de courir.",
        "intro.statement": "Veuillez trouver ci-dessous le relevé de vos factures ouvertes.",
        "columns": "Facture | Émise | Échéance | Montant | Restant dû | Jours de retard | Intérêts",
        "total.outstanding": "Total restant dû : {amount}",
        "total.interest": "Pénalités de retard réclamées : {amount}",
        "total.compensation": "Indemnité forfaitaire réclamée : {amount}",
        "intro.formal_notice.no_compensation": "Malgré nos relances, les factures ci-dessous "
        "restent impayées. Nous vous mettons en demeure de régler le montant dû, majoré des "
        "pénalités de retard indiquées ci-dessous.",
        "basis": "Pénalités de retard : {law}, {rate} % l'an",
        "basis.agreed": "Pénalités de retard : taux contractuel de {rate} % l'an ({law})",
        "pay_by": "Merci de régler le total dû au plus tard le {date}.",
        "total.due": "Total dû : {amount}",
        "as_of": "Au {date}",
        "closing": "Veuillez agréer nos salutations distinguées,\nService clients",
    },
    "zh": {
        "instalment": "  第{seq}期，到期日{due}：未付{amount}，逾期{days}天",
        "disputed": "  其中有争议金额（争议期间不主张）：{amount}",
        "total.on_account": "减：贵方未分配的预付款项{amount}",
        "total.net": "抵扣后余额：{amount}",
        "greeting": "尊敬的{name}：",
        "subject.receipt_confirmation": "收货确认请求",
        "subject.reminder": "付款提醒",
        "subject.first_overdue_notice": "逾期付款通知",
        "subject.formal_notice": "正式催款函",
        "subject.agency_handover": "账款移交催收机构通知",
        "subject.statement": "对账单",
        "intro.receipt_confirmation": "根据我方记录，以下货物或服务已交付。"
        "请签署并返还交货证明以确认收货。",
        "intro.reminder": "温馨提示：以下发票即将到期，请按时付款。",
        "intro.first_overdue_notice": "以下发票已逾期，请尽快支付未付款项。",
        "intro.formal_notice": "尽管我方已多次通知，以下发票仍未支付。现正式要求贵方支付未付款项，"
        "并按下列金额支付逾期利息及固定追偿费用。",
        "intro.agency_handover": "由于以下发票仍未支付，我方已将该债权移交催收机构处理，"
        "催收机构将与贵方联系。逾期利息将继续计算。",
        "intro.statement": "以下为贵方未结清款项的对账单，请核对。",
        "columns": "发票号 | 开票日期 | 到期日 | 金额 | 未付金额 | 逾期天数 | 利息",
        "total.outstanding": "未付总额：{amount}",
        "total.interest": "主张的逾期利息：{amount}",
        "total.compensation": "主张的固定追偿费用：{amount}",
        "intro.formal_notice.no_compensation": "尽管我方已多次通知，以下发票仍未支付。"
        "现正式要求贵方支付未付款项，并按下列金额支付逾期利息。",
        "basis": "逾期利息：{law}，年利率{rate}%",
        "basis.agreed": "逾期利息：合同约定年利率{rate}%（{law}）",
        "pay_by": "请于{date}前支付应付总额。",
        "total.due": "应付总额：{amount}",
        "as_of": "截至{date}",
        "closing": "此致\n应收账款部",
    },
}


_LAW: dict[str, dict[str, str]] = {
    "en": {
        "EU": "Directive 2011/7/EU (ECB reference rate + 8 points)",
        "DE": "§ 288 BGB (base rate + 9 points)",
        "FR": "Code de commerce L441-10 (ECB reference rate + 10 points)",
        "UK": "Late Payment of Commercial Debts (Interest) Act 1998 (Bank Rate + 8 %)",
        "CN": "PRC Civil Code and the Regulations on Ensuring Payments to SMEs",
    },
    "de": {
        "EU": "Richtlinie 2011/7/EU (EZB-Referenzzinssatz + 8 Prozentpunkte)",
        "DE": "§ 288 BGB (Basiszinssatz + 9 Prozentpunkte)",
        "FR": "Art. L441-10 Code de commerce (EZB-Referenzzinssatz + 10 Prozentpunkte)",
        "UK": "britisches Gesetz über Zinsen bei Zahlungsverzug von 1998 (Leitzins + 8 %)",
        "CN": "chinesisches Zivilgesetzbuch und Verordnung zur Zahlung an KMU",
    },
    "fr": {
        "EU": "directive 2011/7/UE (taux de la BCE + 8 points)",
        "DE": "§ 288 BGB allemand (taux de base + 9 points)",
        "FR": "article L441-10 du Code de commerce (taux de la BCE + 10 points)",
        "UK": "loi britannique de 1998 sur les retards de paiement (taux directeur + 8 %)",
        "CN": "Code civil chinois et règlement sur les paiements aux PME",
    },
    "zh": {
        "EU": "欧盟第2011/7/EU号指令（欧洲央行参考利率加8个百分点）",
        "DE": "《德国民法典》第288条（基准利率加9个百分点）",
        "FR": "《法国商法典》第L441-10条（欧洲央行参考利率加10个百分点）",
        "UK": "英国1998年《商业债务逾期付款（利息）法》（央行基准利率加8%）",
        "CN": "《中华人民共和国民法典》及《保障中小企业款项支付条例》",
    },
}
"""The law of each jurisdiction, named in the letter's language (the claim's detailed English
basis stays with the letter's content)."""


def _money(amount: Decimal, currency: str, locale: str) -> str:
    return format_currency(amount, currency, locale=locale)


def render(letter: Letter) -> str:
    """The letter as plain text in the buyer's language (English where it is not supported)."""
    lang = supported_language(letter.language)
    text = _TEXT[lang]
    locale = _LOCALES[lang]
    kind = letter.kind.value
    intro = f"intro.{kind}"
    if letter.kind is Action.FORMAL_NOTICE and not letter.compensation_totals():
        intro += ".no_compensation"  # none where the law gives none (UK contract rate, China)
    out = [
        text[f"subject.{kind}"],
        text["as_of"].format(date=format_date(letter.as_of, format="long", locale=locale)),
        "",
        text["greeting"].format(name=letter.buyer_name),
        "",
        text[intro],
        "",
        text["columns"],
    ]
    for line in letter.lines:
        out.append(
            " | ".join(
                [
                    line.invoice_number,
                    format_date(line.issued_on, format="short", locale=locale)
                    if line.issued_on
                    else "-",
                    format_date(line.due_on, format="short", locale=locale),
                    _money(line.amount, letter.currency, locale),
                    _money(line.outstanding, letter.currency, locale),
                    str(max(line.days_overdue, 0)),
                    _money(line.interest, letter.currency, locale),
                ]
            )
        )
        for part in line.instalments:
            out.append(
                text["instalment"].format(
                    seq=part.seq,
                    due=format_date(part.due_on, format="short", locale=locale),
                    amount=_money(part.outstanding, letter.currency, locale),
                    days=part.days_overdue,
                )
            )
        if line.disputed:
            out.append(
                text["disputed"].format(amount=_money(line.disputed, letter.currency, locale))
            )
    out.append("")
    out.append(
        text["total.outstanding"].format(
            amount=_money(letter.total_outstanding, letter.currency, locale)
        )
    )
    if letter.on_account:
        out.append(
            text["total.on_account"].format(
                amount=_money(letter.on_account, letter.currency, locale)
            )
        )
        out.append(
            text["total.net"].format(amount=_money(letter.net_outstanding, letter.currency, locale))
        )
    if letter.total_interest:
        out.append(
            text["total.interest"].format(
                amount=_money(letter.total_interest, letter.currency, locale)
            )
        )
    for currency, amount in sorted(letter.compensation_totals().items()):
        out.append(text["total.compensation"].format(amount=_money(amount, currency, locale)))
    bases = {
        (line.jurisdiction, line.agreed_rate, line.annual_rate)
        for line in letter.lines
        if line.jurisdiction and line.interest and line.annual_rate is not None
    }
    for jurisdiction, agreed, rate in sorted(bases, key=str):
        law = _LAW[lang].get(str(jurisdiction), str(jurisdiction))
        template = text["basis.agreed" if agreed else "basis"]
        out.append(template.format(law=law, rate=format_decimal(rate, locale=locale)))
    if letter.pay_by is not None:
        totals = sorted(letter.grand_totals().items())
        due = " + ".join(_money(value, currency, locale) for currency, value in totals)
        out += [
            "",
            text["total.due"].format(amount=due),
            text["pay_by"].format(date=format_date(letter.pay_by, format="long", locale=locale)),
        ]
    out += ["", text["closing"]]
    return "\n".join(out) + "\n"
