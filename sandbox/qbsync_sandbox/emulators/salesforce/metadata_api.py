"""The Metadata API's deploy over its two transports; `deploy.py` does the deploying.

REST (Metadata API Developer Guide, "Deploy Metadata with Apex Testing Using REST" and "Check the
Status of Your Deployment Using REST Resources":
https://developer.salesforce.com/docs/atlas.en-us.api_meta.meta/api_meta/meta_rest_deploy.htm):
`POST /services/data/vXX.X/metadata/deployRequest`, multipart with the deploy options as JSON and
the zip as `file`, answers 201; `GET …/deployRequest/{id}[?includeDetails=true]` answers the
DeployResult as it stands.

SOAP (`/services/Soap/m/XX.X`, operations `deploy` and `checkDeployStatus`): what the Salesforce
CLI uses by default. `sf project deploy start` deploys over REST only when the config
`org-metadata-rest-deploy` is true (@salesforce/plugin-deploy-retrieve lib/utils/deploy.js);
otherwise jsforce's `metadata.deploy` posts the zip base64-encoded in a SOAP `deploy` call and polls
`checkDeployStatus` (@jsforce/jsforce-node lib/api/metadata.js).
"""

from __future__ import annotations

import base64
import binascii
import json
import xml.etree.ElementTree as ET  # noqa: S405 - parses SOAP envelopes; expat expands no entities
from xml.sax.saxutils import escape

from flask import Blueprint, Response, current_app, g, request

from qbsync_sandbox.emulators.salesforce.deploy import Deployment, Deployments, DeployRequestError
from qbsync_sandbox.emulators.salesforce.errors import ApiError, not_found
from qbsync_sandbox.emulators.salesforce.permissions import User
from qbsync_sandbox.emulators.salesforce.rest import check_version

METADATA_NS = "http://soap.sforce.com/2006/04/metadata"
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
# A user without "Modify All Data" or "Modify Metadata" may not use the Metadata API. UNCONFIRMED
# wording, as the platform's INSUFFICIENT_ACCESS fault is commonly quoted.
_NO_METADATA_ACCESS = (
    "use of the Metadata API requires a user with the ModifyAllData or ModifyMetadata permissions"
)

metadata_rest = Blueprint("salesforce_metadata_rest", __name__, url_prefix="/services/data")
metadata_soap = Blueprint("salesforce_metadata_soap", __name__, url_prefix="/services/Soap/m")


def deployments() -> Deployments:
    return current_app.extensions["salesforce"].deployments


def _check_deployer(user: User) -> None:
    if not user.access.all_data:
        raise ApiError(403, "INSUFFICIENT_ACCESS", _NO_METADATA_ACCESS)


def _rest_body(deployment: Deployment, version: str, *, include_details: bool) -> dict:
    url = f"{request.host_url.rstrip('/')}/services/data/v{version}/metadata/deployRequest/"
    return {
        "id": deployment.id,
        "validatedDeployRequestId": None,
        "url": url + deployment.id + ("?includeDetails=true" if include_details else ""),
        "deployResult": deployment.result(include_details=include_details),
        "deployOptions": deployment.options,
    }


def _json(body, status: int = 200) -> Response:
    return Response(json.dumps(body), status, mimetype="application/json")


def _multipart_error(message: str) -> ApiError:
    # UNCONFIRMED error code for a deployRequest whose multipart body is unusable.
    return ApiError(400, "INVALID_MULTIPART_REQUEST", message)


@metadata_rest.post("/v<version>/metadata/deployRequest")
def create_deploy_request(version: str):
    check_version(version)
    _check_deployer(g.salesforce_user)
    if not request.mimetype.startswith("multipart/"):
        raise _multipart_error(
            "A deployRequest is multipart/form-data: a JSON part with deployOptions and the zip "
            f"as the part 'file'; this request is {request.mimetype or 'without a Content-Type'}"
        )
    # The guide names the JSON part `json`; jsforce (the Salesforce CLI's client) sends it as
    # `entity_content`. Both are read; which names the platform accepts besides `json` is
    # UNCONFIRMED (the CLI's deploys over REST succeed against orgs, so it accepts this one).
    raw_options = request.form.get("json") or request.form.get("entity_content")
    if raw_options is None and "json" in request.files:
        raw_options = request.files["json"].read().decode("utf-8", "replace")
    if raw_options is None and "entity_content" in request.files:
        raw_options = request.files["entity_content"].read().decode("utf-8", "replace")
    upload = request.files.get("file")
    if upload is None:
        raise _multipart_error("The deployRequest has no zip file: send it as the part 'file'")
    options: dict = {}
    if raw_options:
        try:
            parsed = json.loads(raw_options)
        except ValueError as error:
            raise _multipart_error(f"The deployOptions part is not JSON: {error}") from None
        if not isinstance(parsed, dict) or not isinstance(parsed.get("deployOptions", {}), dict):
            raise _multipart_error('The JSON part must be {"deployOptions": {…}}')
        options = parsed.get("deployOptions", {})
    try:
        deployment = deployments().start(upload.read(), options, g.salesforce_user)
    except DeployRequestError as error:
        raise _multipart_error(str(error)) from None
    body = _rest_body(deployment, version, include_details=False)
    deployments().launch(deployment)
    return _json(body, 201)


@metadata_rest.get("/v<version>/metadata/deployRequest/<deploy_id>")
def deploy_request_status(version: str, deploy_id: str):
    check_version(version)
    _check_deployer(g.salesforce_user)
    deployment = deployments().get(deploy_id)
    if deployment is None:
        raise not_found()
    details = request.args.get("includeDetails", "").lower() == "true"
    return _json(_rest_body(deployment, version, include_details=details))


# ------------------------------------------------------------------------------------------ SOAP


class SoapFault(Exception):
    def __init__(self, code: str, message: str, status: int = 500) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


@metadata_soap.errorhandler(SoapFault)
def soap_fault(fault: SoapFault):
    body = (
        f'<soapenv:Fault><faultcode xmlns:sf="{METADATA_NS}">sf:{fault.code}</faultcode>'
        f"<faultstring>{escape(fault.code)}: {escape(fault.message)}</faultstring></soapenv:Fault>"
    )
    return _envelope(body, fault.status)


def _envelope(body: str, status: int = 200) -> Response:
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_NS}" xmlns="{METADATA_NS}" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
    )
    return Response(text, status, mimetype="text/xml")


def _to_xml(name: str, value) -> str:
    """A DeployResult (dict) as the Metadata WSDL writes it: a list repeats its element, None is
    left out, booleans are lower case."""
    if value is None:
        return ""
    if isinstance(value, list):
        return "".join(_to_xml(name, item) for item in value)
    if isinstance(value, dict):
        return f"<{name}>{''.join(_to_xml(k, v) for k, v in value.items())}</{name}>"
    if isinstance(value, bool):
        value = "true" if value else "false"
    return f"<{name}>{escape(str(value))}</{name}>"


@metadata_soap.post("/<version>")
def soap_call(version: str):
    try:
        check_version(version)
    except ApiError:
        raise SoapFault("INVALID_TYPE", f"Unknown API version: {version}") from None
    try:
        envelope = ET.fromstring(request.get_data())  # noqa: S314 - see the import
    except ET.ParseError as error:
        raise SoapFault("INVALID_XML", f"The request is not well-formed XML ({error})") from None
    session = envelope.find(f".//{{{METADATA_NS}}}SessionHeader/{{{METADATA_NS}}}sessionId")
    state = current_app.extensions["salesforce"]
    username = (
        state.authority.session_user(f"Bearer {(session.text or '').strip()}")
        if (session is not None)
        else None
    )
    user = state.org.user(username) if username else None
    if user is None:
        raise SoapFault(
            "INVALID_SESSION_ID", "Invalid Session ID found in SessionHeader: Illegal Session"
        )
    if not user.access.all_data:
        raise SoapFault("INSUFFICIENT_ACCESS", _NO_METADATA_ACCESS)
    body = envelope.find(f"{{{SOAP_NS}}}Body")
    call = next(iter(body), None) if body is not None else None
    operation = call.tag.rpartition("}")[2] if call is not None else ""
    if operation == "deploy":
        return _soap_deploy(call, user)
    if operation == "checkDeployStatus":
        return _soap_check(call)
    raise SoapFault("INVALID_OPERATION", f"No operation available for request {{{operation}}}")


def _child(element: ET.Element, name: str) -> ET.Element | None:
    return element.find(f"{{{METADATA_NS}}}{name}")


def _soap_deploy(call: ET.Element, user: User) -> Response:
    zip_element = _child(call, "ZipFile")
    try:
        zip_bytes = base64.b64decode((zip_element.text or "") if zip_element is not None else "")
    except (binascii.Error, ValueError):
        raise SoapFault("INVALID_ZIP", "ZipFile is not base64") from None
    options: dict = {}
    option_element = _child(call, "DeployOptions")
    for option in option_element if option_element is not None else []:
        name = option.tag.rpartition("}")[2]
        value = (option.text or "").strip()
        if name == "runTests":  # the one list: a repeated element
            options.setdefault(name, []).append(value)
        else:
            options[name] = value.lower() == "true" if value in ("true", "false") else value
    try:
        deployment = deployments().start(zip_bytes, options, user)
    except DeployRequestError as error:
        raise SoapFault("INVALID_ZIP", str(error)) from None
    # deploy() answers an AsyncResult (Metadata API Developer Guide, "AsyncResult").
    result = {"done": False, "id": deployment.id, "state": "Queued"}
    deployments().launch(deployment)
    return _envelope(f"<deployResponse>{_to_xml('result', result)}</deployResponse>")


def _soap_check(call: ET.Element) -> Response:
    process = _child(call, "asyncProcessId")
    deployment = deployments().get((process.text or "").strip() if process is not None else "")
    if deployment is None:
        raise SoapFault("INVALID_ID_FIELD", "invalid cross reference id")
    details = _child(call, "includeDetails")
    include = details is not None and (details.text or "").strip().lower() == "true"
    result = deployment.result(include_details=include)
    return _envelope(
        f"<checkDeployStatusResponse>{_to_xml('result', result)}</checkDeployStatusResponse>"
    )
