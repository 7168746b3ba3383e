"""Adapts the people core (:class:`AuthService`, :class:`AccessService`) to :class:`AuthPort`.

Worker thread only (like the services it wraps). Holds the half-finished sign-in challenge of
this device in memory between the login, password-change and enrolment screens; it is dropped
when the sign-in completes, is cancelled or expires in the service.
"""

from __future__ import annotations

from mar_desktop.clinical.witness import WitnessRequest, WitnessSignIn
from mar_desktop.errors import AuthError, SessionExpired
from mar_desktop.kinds import WitnessAttestation
from mar_desktop.people.access import AccessService
from mar_desktop.people.auth import AuthService, LoginChallenge, LoginStep
from mar_desktop.permissions import Principal
from ui.backend import SignInResult, TotpSetup


class AuthAdapter:
    def __init__(self, auth: AuthService, access: AccessService) -> None:
        self._auth = auth
        self._access = access
        self._challenge: LoginChallenge | None = None

    def _begin(self, username: str, password: str) -> LoginChallenge:
        if self._challenge is not None:
            self._auth.cancel(self._challenge)
            self._challenge = None
        return self._auth.begin_login(username, password)

    def _result(self, challenge: LoginChallenge) -> SignInResult:
        if challenge.step is LoginStep.TOTP:
            self._auth.cancel(challenge)
            return SignInResult(challenge.user, must_sign_in_again=True)
        self._challenge = challenge
        return SignInResult(
            challenge.user,
            must_change_password=challenge.step is LoginStep.CHANGE_PASSWORD,
            must_enrol_totp=challenge.step is LoginStep.ENROL_TOTP,
        )

    def sign_in(self, username: str, password: str, code: str) -> SignInResult:
        challenge = self._begin(username, password)
        if challenge.step is not LoginStep.TOTP:
            return self._result(challenge)
        if not code.strip():
            self._auth.cancel(challenge)
            raise AuthError("Enter the 6-digit code from your authenticator app.")
        self._auth.submit_totp(challenge, code)
        return SignInResult(challenge.user)

    def sign_in_with_recovery(
        self, username: str, password: str, recovery_code: str
    ) -> SignInResult:
        challenge = self._begin(username, password)
        if challenge.step is not LoginStep.TOTP:
            return self._result(challenge)
        self._auth.submit_recovery_code(challenge, recovery_code)
        return SignInResult(challenge.user)

    def _pending(self, user_id: str) -> LoginChallenge:
        challenge = self._challenge
        if challenge is None or challenge.user.user_id != user_id:
            raise SessionExpired("Please start the sign-in again.")
        return challenge

    def change_password(self, user_id: str, new: str) -> SignInResult:
        challenge = self._auth.set_new_password(self._pending(user_id), new)
        self._challenge = None
        if challenge.step is LoginStep.ENROL_TOTP:
            self._challenge = challenge
            return SignInResult(challenge.user, must_enrol_totp=True)
        self._auth.cancel(challenge)
        return SignInResult(challenge.user, must_sign_in_again=True)

    def start_totp_enrolment(self, user_id: str) -> TotpSetup:
        enrolment = self._auth.begin_enrolment(self._pending(user_id))
        return TotpSetup(uri=enrolment.uri, manual_key=enrolment.manual_key)

    def confirm_totp_enrolment(
        self, user_id: str, setup: TotpSetup, code: str
    ) -> tuple[SignInResult, list[str]]:
        challenge = self._pending(user_id)
        done = self._auth.confirm_enrolment(challenge, code)
        self._challenge = None
        return SignInResult(challenge.user), list(done.recovery_codes)

    def unlock(self, user_id: str, password: str) -> None:
        self._auth.unlock(password)

    def reauthenticate(self, user_id: str, password: str, code: str) -> None:
        self._auth.reauthenticate(password, code)

    def witness_sign_in(
        self, principal: Principal, username: str, password: str, code: str
    ) -> WitnessAttestation:
        return self._access.witness_sign_in(username, password, code)

    def witness_for_record(
        self,
        principal: Principal,
        username: str,
        password: str,
        code: str,
        request: WitnessRequest,
    ) -> WitnessSignIn:
        return self._access.witness_for_record(username, password, code, request)

    def grant_emergency_access(
        self, principal: Principal, reason: str, unit_ids: list[str]
    ) -> None:
        self._access.start_emergency_access(reason, unit_ids)

    def sign_out(self, reason: str = "logout") -> None:
        if self._challenge is not None:
            self._auth.cancel(self._challenge)
            self._challenge = None
        self._auth.logout()
