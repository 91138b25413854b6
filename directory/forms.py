from __future__ import annotations

from django import forms

from directory.models import DirectoryUser, Group
from directory.selectors import USER_FILTERS


def _max_length(model, field: str) -> int:
    return model._meta.get_field(field).max_length


class UserSearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search users")
    status = forms.ChoiceField(required=False, choices=[("", "All"), *USER_FILTERS.items()])
    group = forms.UUIDField(required=False)


class MergeAgentsForm(forms.Form):
    """Pick the agent to keep (primary) and the agents that become its aliases."""

    primary = forms.UUIDField()
    others = forms.TypedMultipleChoiceField(coerce=str, choices=[])

    def __init__(self, *args, agents=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["others"].choices = [(str(a.public_id), str(a)) for a in agents]


class AgentForm(forms.Form):
    agent = forms.UUIDField()


class AgentAssignForm(AgentForm):
    # CharField refuses NUL characters and over-long values with a form error, not a 500.
    user_name = forms.CharField(max_length=_max_length(DirectoryUser, "user_name"), strip=True)


class GroupForm(forms.Form):
    display_name = forms.CharField(
        max_length=_max_length(Group, "display_name"), label="Group name", strip=True
    )


class GroupMemberForm(forms.Form):
    user_name = forms.CharField(
        max_length=_max_length(DirectoryUser, "user_name"),
        label="User's userName or email",
        strip=True,
    )
