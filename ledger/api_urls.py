from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("ledger/deposits", api.DepositViewSet, basename="ledger-deposit")
router.register("ledger/disbursements", api.DisbursementViewSet, basename="ledger-disbursement")
router.register("ledger/transactions", api.TransactionViewSet, basename="ledger-transaction")

urlpatterns = router.urls
