"""Cases API: thin views — input serializer → service → output serializer.

Every case lookup goes through `cases_visible_to`, so a case the user may not see is a 404.
Member PHI read through the API is written to the access log.
"""

from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from recovery.core.audit import log_phi_access
from recovery.core.models import PhiAccess
from recovery.core.permissions import IsStaffRole

from . import selectors, services
from .models import Case, CaseClaim, ClaimLine, Deadline, Jurisdiction, Member, Party
from .serializers import (
    ActivitySerializer,
    AssignInputSerializer,
    CaseClaimSerializer,
    CaseCreateSerializer,
    CaseOutputSerializer,
    CasePartySerializer,
    CaseUpdateSerializer,
    ClaimLineSerializer,
    DeadlineSerializer,
    DecideInputSerializer,
    JurisdictionSerializer,
    MemberSerializer,
    NoteInputSerializer,
    PartySerializer,
    StatusInputSerializer,
)


def _log_members(request, members, *, case_id=None, searched=False):
    ids = [member_id for member_id in members if member_id]
    if ids:
        log_phi_access(
            user=request.user,
            subject_type="member",
            subject_ids=ids,
            case_id=case_id,
            request=request,
            action=PhiAccess.Action.SEARCH if searched else PhiAccess.Action.VIEW,
        )


CASE_LIST_PARAMETERS = [
    OpenApiParameter("search", str, description="Case number, member name or program id (exact)."),
    OpenApiParameter("status", str, description="A status, or `open` for every status but closed."),
    OpenApiParameter("assigned_to", str, description="A user id, `me` or `none`."),
    OpenApiParameter("jurisdiction", str, description="Two-letter state code."),
    OpenApiParameter(
        "due", str, enum=["overdue", "today", "week"], description="Cases with open deadlines due."
    ),
    OpenApiParameter("ordering", str, enum=sorted(selectors.SORTS)),
]


class CaseViewSet(viewsets.GenericViewSet):
    """Cases visible to the caller. Writes are for the assigned specialist or a supervisor."""

    permission_classes = [IsStaffRole]
    serializer_class = CaseOutputSerializer
    filter_backends: list = []

    def get_queryset(self):
        return selectors.cases_visible_to(self.request.user).select_related(
            "member", "jurisdiction", "assigned_to"
        )

    def get_object(self) -> Case:
        return selectors.case_get(user=self.request.user, id=self.kwargs["pk"])

    @extend_schema(parameters=CASE_LIST_PARAMETERS, responses=CaseOutputSerializer(many=True))
    def list(self, request):
        params = request.query_params
        cases = selectors.case_list(
            user=request.user,
            search=params.get("search", ""),
            status=params.get("status", ""),
            assigned_to=params.get("assigned_to"),
            jurisdiction=params.get("jurisdiction", ""),
            due=params.get("due", ""),
            sort=params.get("ordering", "-opened"),
        )
        page = self.paginate_queryset(cases)
        _log_members(
            request, [case.member_id for case in page], searched=bool(params.get("search"))
        )
        return self.get_paginated_response(CaseOutputSerializer(page, many=True).data)

    @extend_schema(request=CaseCreateSerializer, responses={201: CaseOutputSerializer})
    def create(self, request):
        data = CaseCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        case = services.open_case(created_by=request.user, **data.validated_data)
        return Response(CaseOutputSerializer(case).data, status=status.HTTP_201_CREATED)

    def retrieve(self, request, pk=None):
        case = self.get_object()
        _log_members(request, [case.member_id], case_id=case.pk)
        return Response(CaseOutputSerializer(case).data)

    @extend_schema(request=CaseUpdateSerializer, responses=CaseOutputSerializer)
    def partial_update(self, request, pk=None):
        case = self.get_object()
        data = CaseUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        case = services.update_case(case=case, changed_by=request.user, **data.validated_data)
        return Response(
            CaseOutputSerializer(selectors.case_get(user=request.user, id=case.pk)).data
        )

    @extend_schema(request=StatusInputSerializer, responses=CaseOutputSerializer)
    @action(detail=True, methods=["post"])
    def status(self, request, pk=None):
        case = self.get_object()  # a case the caller may not see is a 404 whatever the body
        data = StatusInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        case = services.change_status(case=case, changed_by=request.user, **data.validated_data)
        return Response(CaseOutputSerializer(case).data)

    @extend_schema(request=AssignInputSerializer, responses=CaseOutputSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        case = self.get_object()
        data = AssignInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        case = services.assign_case(case=case, assigned_by=request.user, **data.validated_data)
        return Response(CaseOutputSerializer(case).data)

    @extend_schema(request=None, responses=CaseOutputSerializer)
    @action(detail=True, methods=["post"])
    def take(self, request, pk=None):
        case = services.take_case(case=self.get_object(), user=request.user)
        return Response(CaseOutputSerializer(case).data)

    @extend_schema(request=NoteInputSerializer, responses=CaseOutputSerializer)
    @action(detail=True, methods=["post"], url_path="return")
    def return_to_queue(self, request, pk=None):
        case = self.get_object()
        data = NoteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        case = services.return_case(case=case, user=request.user, note=data.validated_data["note"])
        return Response(CaseOutputSerializer(case).data)

    @extend_schema(responses=CaseClaimSerializer(many=True))
    @action(detail=True, methods=["get"])
    def claims(self, request, pk=None):
        case = self.get_object()
        _log_members(request, [case.member_id], case_id=case.pk)
        page = self.paginate_queryset(selectors.case_claims(case))
        return self.get_paginated_response(CaseClaimSerializer(page, many=True).data)

    @extend_schema(request=DecideInputSerializer, responses=CaseClaimSerializer)
    @action(detail=True, methods=["post"], url_path=r"claims/(?P<case_claim_id>\d+)/decide")
    def decide(self, request, pk=None, case_claim_id=None):
        case = self.get_object()
        case_claim = get_object_or_404(CaseClaim, pk=case_claim_id, case=case)
        data = DecideInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        case_claim = services.decide_claim(
            case_claim=case_claim, decided_by=request.user, **data.validated_data
        )
        return Response(CaseClaimSerializer(case_claim).data)

    @extend_schema(methods=["get"], responses=CasePartySerializer(many=True))
    @extend_schema(
        methods=["post"], request=CasePartySerializer, responses={201: CasePartySerializer}
    )
    @action(detail=True, methods=["get", "post"])
    def parties(self, request, pk=None):
        case = self.get_object()
        if request.method == "POST":
            data = CasePartySerializer(data=request.data)
            data.is_valid(raise_exception=True)
            details = dict(data.validated_data)
            link = services.add_case_party(
                case=case,
                party=details.pop("party"),
                role=details.pop("role"),
                added_by=request.user,
                **details,
            )
            return Response(CasePartySerializer(link).data, status=status.HTTP_201_CREATED)
        links = case.case_parties.select_related("party")
        return Response(CasePartySerializer(links, many=True).data)

    @extend_schema(methods=["get"], responses=ActivitySerializer(many=True))
    @extend_schema(
        methods=["post"], request=ActivitySerializer, responses={201: ActivitySerializer}
    )
    @action(detail=True, methods=["get", "post"])
    def activities(self, request, pk=None):
        case = self.get_object()
        if request.method == "POST":
            data = ActivitySerializer(data=request.data)
            data.is_valid(raise_exception=True)
            activity = services.log_activity(
                case=case, logged_by=request.user, **data.validated_data
            )
            return Response(ActivitySerializer(activity).data, status=status.HTTP_201_CREATED)
        page = self.paginate_queryset(case.activities.select_related("created_by"))
        return self.get_paginated_response(ActivitySerializer(page, many=True).data)

    @extend_schema(methods=["get"], responses=DeadlineSerializer(many=True))
    @extend_schema(
        methods=["post"], request=DeadlineSerializer, responses={201: DeadlineSerializer}
    )
    @action(detail=True, methods=["get", "post"])
    def deadlines(self, request, pk=None):
        case = self.get_object()
        if request.method == "POST":
            data = DeadlineSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            deadline = services.add_deadline(
                case=case, created_by=request.user, **data.validated_data
            )
            return Response(DeadlineSerializer(deadline).data, status=status.HTTP_201_CREATED)
        return Response(DeadlineSerializer(case.deadlines.all(), many=True).data)

    @extend_schema(request=None, responses=DeadlineSerializer)
    @action(detail=True, methods=["post"], url_path=r"deadlines/(?P<deadline_id>\d+)/done")
    def deadline_done(self, request, pk=None, deadline_id=None):
        case = self.get_object()
        deadline = get_object_or_404(Deadline, pk=deadline_id, case=case)
        return Response(
            DeadlineSerializer(
                services.complete_deadline(deadline=deadline, done_by=request.user)
            ).data
        )


class MemberFilter(filters.FilterSet):
    search = filters.CharFilter(method="filter_search", label="Name, program id or SSN (exact)")

    class Meta:
        model = Member
        fields = ["state"]

    def filter_search(self, queryset, name, value):
        return queryset.filter(pk__in=selectors.member_search(value).values("pk"))


class MemberViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Members. Every read is written to the PHI access log."""

    permission_classes = [IsStaffRole]
    serializer_class = MemberSerializer
    filterset_class = MemberFilter
    filter_backends = [filters.DjangoFilterBackend]
    http_method_names = ["get", "post", "patch"]

    def get_queryset(self):
        return Member.objects.prefetch_related("eligibility").order_by(
            "last_name", "first_name", "id"
        )

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        _log_members(request, [row["id"] for row in response.data["results"]], searched=True)
        return response

    def retrieve(self, request, *args, **kwargs):
        response = super().retrieve(request, *args, **kwargs)
        _log_members(request, [response.data["id"]])
        return response


class PartyViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    permission_classes = [IsStaffRole]
    serializer_class = PartySerializer
    queryset = Party.objects.all()
    filterset_fields = ["kind", "state", "is_active", "firm"]
    search_fields = ["name", "contact_name", "naic_code", "bar_number"]
    ordering_fields = ["name", "kind"]
    http_method_names = ["get", "post", "patch"]


class ClaimLineFilter(filters.FilterSet):
    service_from = filters.DateFromToRangeFilter()
    paid_date = filters.DateFromToRangeFilter()

    class Meta:
        model = ClaimLine
        fields = ["member", "claim_number", "screening_decision", "procedure_code", "provider_npi"]


class ClaimLineViewSet(viewsets.ReadOnlyModelViewSet):
    """Paid claim lines as imported, with their screening result."""

    permission_classes = [IsStaffRole]
    serializer_class = ClaimLineSerializer
    filterset_class = ClaimLineFilter
    ordering_fields = ["service_from", "paid_date", "paid_amount"]
    queryset = ClaimLine.objects.order_by("service_from", "claim_number", "line_number")

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        _log_members(request, {row["member"] for row in response.data["results"]}, searched=True)
        return response


class JurisdictionList(generics.ListAPIView):
    permission_classes = [IsStaffRole]
    serializer_class = JurisdictionSerializer
    queryset = Jurisdiction.objects.filter(is_active=True)
    pagination_class = None
