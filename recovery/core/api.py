"""The API shell: pagination, the exception handler, token login and the user endpoints."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from .models import User
from .permissions import IsAuthenticatedAnyRole, IsSupervisorOrAuditor


class AuthThrottle(AnonRateThrottle):
    scope = "auth"


class TokenLoginApi(APIView):
    """Exchange a username and password for an API token."""

    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes = [AuthThrottle]

    @extend_schema(
        request=AuthTokenSerializer,
        responses=inline_serializer("TokenResponse", {"token": serializers.CharField()}),
        auth=[],
    )
    def post(self, request):
        serializer = AuthTokenSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        user = serializer.validated_data["user"]
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class UserOutputSerializer(serializers.ModelSerializer):
    team = serializers.CharField(source="team.name", default=None, allow_null=True, read_only=True)
    name = serializers.CharField(source="get_full_name")

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "name",
            "email",
            "role",
            "team",
            "authority_max_reduction_amount",
            "authority_max_reduction_percent",
        ]
        read_only_fields = fields


class MeApi(generics.RetrieveAPIView):
    """The signed-in user, with role and authority limits."""

    permission_classes = [IsAuthenticatedAnyRole]
    serializer_class = UserOutputSerializer

    def get_object(self):
        return self.request.user


class UserListApi(generics.ListAPIView):
    """Staff users and their authority limits (supervisors, admins and auditors)."""

    permission_classes = [IsSupervisorOrAuditor]
    serializer_class = UserOutputSerializer
    queryset = User.objects.select_related("team").filter(is_active=True)
    filterset_fields = ["role", "team"]
    search_fields = ["username", "first_name", "last_name"]
    ordering_fields = ["username", "last_name", "role"]
