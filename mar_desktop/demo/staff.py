"""Demo staff: one account per role, with passwords and TOTP secrets that the demo's login
screen shows on purpose so a newcomer can try every role within a minute.

Demo only. These secrets protect nothing but fictional data in a throwaway folder.
"""

from __future__ import annotations

from dataclasses import dataclass

from mar_desktop.model import ALL_UNITS, Role, User


@dataclass(frozen=True)
class DemoStaff:
    user: User
    password: str
    totp_secret: str  # base32, 160 bits (RFC 4226's recommended length; pyotp needs >= 32 chars)

    @property
    def role_label(self) -> str:
        return {
            Role.FACILITY_ADMIN: "Facility admin",
            Role.DIRECTOR_OF_NURSING: "Director of nursing",
            Role.NURSE: "Nurse",
            Role.PHARMACIST: "Pharmacist",
            Role.CNA: "CNA / med aide",
            Role.READ_ONLY: "Surveyor (read-only)",
        }[self.user.role]


def demo_staff(unit_ids: tuple[str, ...]) -> tuple[DemoStaff, ...]:
    """Admin, two nurses on every unit, a CNA assigned to the first unit only, a director of
    nursing and a consultant pharmacist (every unit by role), and a read-only surveyor."""
    first = unit_ids[:1]

    def person(
        uid: str,
        username: str,
        name: str,
        initials: str,
        creds: str,
        role: Role,
        units: tuple[str, ...],
        password: str,
        secret: str,
    ) -> DemoStaff:
        user = User(
            user_id=uid,
            username=username,
            full_name=name,
            initials=initials,
            credentials=creds,
            role=role,
            unit_ids=units,
        )
        return DemoStaff(user=user, password=password, totp_secret=secret)

    return (
        person(
            "demo-admin",
            "admin",
            "Dana Whitfield",
            "DW",
            "RN, DON",
            Role.FACILITY_ADMIN,
            (),
            "copper kettle on a quiet porch",
            "3AAWWWQYTDQKJFIVOVAEPQNWN5KP5XNV",
        ),
        person(
            "demo-nurse",
            "nurse",
            "Marisol Ortega",
            "MO",
            "RN",
            Role.NURSE,
            (ALL_UNITS,),
            "lanterns drift over the harbor",
            "A565WPMAHPPD2YW2SHO33DQFO3TC544C",
        ),
        person(
            "demo-nurse2",
            "nurse2",
            "Tobias Brandt",
            "TB",
            "LPN",
            Role.NURSE,
            (ALL_UNITS,),
            "seven herons fishing at dawn",
            "QTCQ2FRIK2EEUBDQ6ESSXVJ3NAGEURZA",
        ),
        person(
            "demo-cna",
            "cna",
            "Keisha Lambert",
            "KL",
            "CMA",
            Role.CNA,
            first,
            "blue bicycles in the orchard",
            "KIJ6DPWHJE7EO4KXWIIBCXI3DF76764P",
        ),
        person(
            "demo-don",
            "don",
            "Ruth Adeyemi",
            "RA",
            "RN, DON",
            Role.DIRECTOR_OF_NURSING,
            (),
            "violet kites above the meadow",
            "35DRAVXWDP2DNI2NI3TRDJFBHRYPXMHD",
        ),
        person(
            "demo-pharmacist",
            "pharmacist",
            "Samir Haddad",
            "SH",
            "PharmD",
            Role.PHARMACIST,
            (),
            "granite stairs under silver rain",
            "ZIO6JOTUAHJAZLMAORPH3ZUUUVVD4PWN",
        ),
        person(
            "demo-surveyor",
            "surveyor",
            "Harold Finch",
            "HF",
            "",
            Role.READ_ONLY,
            (),
            "paper lanterns and quiet maps",
            "3FK56PFVP4WSMVUMZ35TGVOIIFKNUUNT",
        ),
    )
