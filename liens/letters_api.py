"""Letters API: ask for a letter on a case (202; the PDF is rendered in the background), read a
document's status, download the PDF, e-mail it to the recipient.

Cases come through `case_get` and documents through `letters.document_get`, so anything the caller
may not see is a 404. Attorneys reach the two document GETs, and only for letters addressed to
their firm; everything else is for staff (auditors read-only).
"""

from django.http import FileResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from cases.models import Document, Party
from cases.selectors import case_get
from recovery.core.audit import log_phi_access
from recovery.core.exceptions import Conflict
from recovery.core.models import STAFF_ROLES, PhiAccess, Role
from recovery.core.permissions import IsStaffRole, role_permission
from recovery.core.rest import Pagination

from . import letters

StaffOrAttorney = role_permission(*STAFF_ROLES, Role.ATTORNEY)


class LetterRequestInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=sorted(letters.LETTER_KINDS))
    recipient = serializers.PrimaryKeyRelatedField(
        queryset=Party.objects.all(),
        required=False,
        allow_null=True,
        help_text="A party on the case (its id). Leave empty for a member questionnaire.",
    )
    body = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False, max_length=letters.MAX_BODY
    )
    subject = serializers.CharField(
        required=False, allow_blank=True, max_length=letters.MAX_SUBJECT
    )
    deliver = serializers.BooleanField(
        required=False, default=False, help_text="E-mail the PDF to the recipient once ready."
    )


class DocumentOutputSerializer(serializers.ModelSerializer):
    case_number = serializers.CharField(source="case.number", default=None, read_only=True)
    recipient_name = serializers.CharField(source="recipient.name", default=None, read_only=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Document
        fields = [
            "id",
            "case",
            "case_number",
            "kind",
            "title",
            "status",
            "sha256",
            "size",
            "pages",
            "recipient",
            "recipient_name",
            "template_version",
            "created_at",
            "ready_at",
            "error",
            "delivery",
            "delivery_attempts",
            "delivered_at",
            "delivery_error",
            "download_url",
        ]
        read_only_fields = fields

    def get_download_url(self, document: Document) -> str | None:
        if document.status != Document.Status.READY:
            return None
        return reverse("api-document-download", args=[document.pk])


class CaseLettersApi(APIView):
    """A case's letters (GET, newest first) and asking for a new one (POST → 202)."""

    permission_classes = [IsStaffRole]

    @extend_schema(responses=DocumentOutputSerializer(many=True))
    def get(self, request, case_id: int):
        case = case_get(user=request.user, id=case_id)
        documents = case.documents.filter(kind__in=letters.LETTER_KINDS).select_related(
            "case", "recipient"
        )
        paginator = Pagination()
        page = paginator.paginate_queryset(documents, request, view=self)
        return paginator.get_paginated_response(DocumentOutputSerializer(page, many=True).data)

    @extend_schema(request=LetterRequestInput, responses={202: DocumentOutputSerializer})
    def post(self, request, case_id: int):
        case = case_get(user=request.user, id=case_id)
        data = LetterRequestInput(data=request.data)
        data.is_valid(raise_exception=True)
        document = letters.request_letter(
            case=case, requested_by=request.user, **data.validated_data
        )
        response = Response(
            DocumentOutputSerializer(document).data, status=status.HTTP_202_ACCEPTED
        )
        response["Location"] = reverse("api-document-detail", args=[document.pk])
        return response


class DocumentDetailApi(APIView):
    """A document's status: `pending` until the PDF is rendered, then `ready` (or `failed`)."""

    permission_classes = [StaffOrAttorney]

    @extend_schema(responses=DocumentOutputSerializer)
    def get(self, request, pk: int):
        document = letters.document_get(user=request.user, id=pk)
        return Response(DocumentOutputSerializer(document).data)


class DocumentDownloadApi(APIView):
    """The PDF (or uploaded file) as an attachment. The read is written to the PHI access log."""

    permission_classes = [StaffOrAttorney]

    @extend_schema(
        responses={
            (200, "application/pdf"): OpenApiTypes.BINARY,
            409: OpenApiResponse(description="The letter is not ready (pending or failed)."),
        }
    )
    def get(self, request, pk: int):
        document = letters.document_get(user=request.user, id=pk)
        if document.status != Document.Status.READY or not document.file:
            raise Conflict(
                "The letter failed to generate."
                if document.status == Document.Status.FAILED
                else "The letter is still being generated.",
                code=f"document_{document.status}",
            )
        member_id = document.case.member_id if document.case_id else document.member_id
        if member_id:
            log_phi_access(
                user=request.user,
                subject_type="member",
                subject_ids=[member_id],
                case_id=document.case_id,
                request=request,
                action=PhiAccess.Action.DOWNLOAD,
                detail=f"document {document.pk}",
            )
        reference = document.case.number if document.case_id else f"document-{document.pk}"
        # The file name never carries an uploaded name, which may hold PHI.
        return FileResponse(
            document.file.open("rb"),
            as_attachment=True,
            filename=f"{reference}-{document.kind}-{document.pk}{document.extension or '.pdf'}",
            content_type=document.content_type,
        )


class DocumentSendApi(APIView):
    """E-mail a letter to its recipient (now if ready, else once it is): 202."""

    permission_classes = [IsStaffRole]

    @extend_schema(request=None, responses={202: DocumentOutputSerializer})
    def post(self, request, pk: int):
        document = letters.document_get(user=request.user, id=pk)
        document = letters.queue_delivery(document=document, requested_by=request.user)
        return Response(DocumentOutputSerializer(document).data, status=status.HTTP_202_ACCEPTED)
